// An SMTP reply as smtp-server takes it from a callback: the code, and the text (which starts with its enhanced
// status code, RFC 3463, kept as it is: see session.ts).
export type SmtpReply = Error & { responseCode: number };

export function reply(code: number, text: string): SmtpReply {
  return Object.assign(new Error(text), { responseCode: code });
}
