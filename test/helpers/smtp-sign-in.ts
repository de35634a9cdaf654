// A sign-in over SMTP submission as a mail client makes it: python3's smtplib, AUTH PLAIN on the cleartext
// port (loopback: cleartextAuth allows it by default), then optionally one message.
import { run } from './clients.js';

export interface SmtpSignIn {
  /** the AUTH reply's code: 235 signed in, 535 refused, 454 try again later */
  code: number;
  text: string;
  /** sendmail's refused recipients ({} when every one was accepted), when a message was sent */
  refused?: Record<string, [number, string]>;
}

/** AUTH PLAIN as `user`; when it succeeds and `message` is given, sends it from `user` to `message.to`. */
export async function smtpSignIn(
  port: number,
  user: string,
  password: string,
  message?: { to: string; subject: string },
): Promise<SmtpSignIn> {
  const script = `
import smtplib, json, sys
user, password, to, subject = sys.argv[1:5]
with smtplib.SMTP("127.0.0.1", ${port}, timeout=30) as s:
    s.ehlo("client.test")
    s.user, s.password = user, password
    try:
        code, text = s.auth("PLAIN", s.auth_plain)
    except smtplib.SMTPAuthenticationError as e:
        code, text = e.smtp_code, e.smtp_error
    out = {"code": code, "text": text.decode("utf-8", "replace")}
    if code == 235 and to:
        msg = "From: %s\\r\\nTo: %s\\r\\nSubject: %s\\r\\n\\r\\nsent over submission\\r\\n" % (user, to, subject)
        out["refused"] = s.sendmail(user, [to], msg)
print(json.dumps(out))
`;
  const r = await run('python3', ['-c', script, user, password, message?.to ?? '', message?.subject ?? '']);
  if (r.code !== 0) throw new Error(`python3 smtplib failed (${r.code}): ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop() ?? '') as SmtpSignIn;
}
