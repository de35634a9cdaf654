// The parts of libmime 5 (nodemailer's MIME helpers; no type declarations of its own) that Postern uses:
// RFC 2047 encoded words, and its charset module (iconv-lite underneath), which the package ships as
// lib/charset.js but does not re-export. See modules/imap/message/charset.ts.
declare module 'libmime' {
  interface Libmime {
    /** A header value with its RFC 2047 encoded words decoded (adjacent words of one charset joined first). */
    decodeWords(value: string): string;
    /** One encoded word's text (its "=?", "?" and "?=" taken off) in `charset`, Q or B encoded. */
    decodeWord(charset: string, encoding: string, text: string): string;
  }
  const libmime: Libmime;
  export = libmime;
}

declare module 'libmime/lib/charset.js' {
  interface LibmimeCharset {
    /** Bytes in `charset` to a string; an unknown charset is read as UTF-8. */
    decode(buf: Buffer, charset?: string): string;
    /** A charset label in its canonical spelling ("latin1" is "windows-1252", "win-1257" "windows-1257"). */
    normalizeCharset(charset?: string): string;
  }
  const charset: LibmimeCharset;
  export = charset;
}
