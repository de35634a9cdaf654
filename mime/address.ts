// RFC 5322 section 3.4 address lists, parsed for ENVELOPE (RFC 9051 section 7.5.2). Groups give a
// start marker (NIL NIL "name" NIL) and an end marker (NIL NIL NIL NIL). Broken addresses are kept
// the way Dovecot 2.3 keeps them (lib-mail message-address with "fill missing"): a missing local part
// reads MISSING_MAILBOX, a missing domain MISSING_DOMAIN, so that no broken address can look like a
// group marker; a broken angle address gets the domain SYNTAX_ERROR; parsing stops at garbage.
// Hand-written, not an address library: ENVELOPE must match Dovecot's byte for byte.
import { Lexer } from './rfc822-lexer.js';

export interface Address {
  name: Buffer | null;
  route: Buffer | null;
  mailbox: Buffer | null;
  domain: Buffer | null;
}

const b = (s: string) => Buffer.from(s);

class AddressParser {
  readonly lex: Lexer;
  readonly list: Address[] = [];
  addr: Address & { invalid: boolean } = { name: null, route: null, mailbox: null, domain: null, invalid: false };

  constructor(value: Buffer) {
    this.lex = new Lexer(value);
    this.lex.wantComments = true;
  }

  private add(): void {
    const { name, route, mailbox, domain } = this.addr;
    this.list.push({ name, route, mailbox, domain });
    this.addr = { name: null, route: null, mailbox: null, domain: null, invalid: false };
  }

  private addFixed(): void {
    if (this.addr.mailbox === null) this.addr.mailbox = b('MISSING_MAILBOX');
    if (this.addr.domain === null || this.addr.domain.length === 0) this.addr.domain = b('MISSING_DOMAIN');
    this.add();
  }

  private localPart(str: number[]): number {
    str.length = 0;
    const r = this.lex.c() === 0x22 ? this.lex.quotedString(str) : this.lex.dotAtom(str);
    if (r < 0) return -1;
    this.addr.mailbox = Buffer.from(str);
    return r;
  }

  private domain(): number {
    const out: number[] = [];
    const r = this.lex.domain(out);
    if (r < 0) return -1;
    this.addr.domain = Buffer.from(out);
    return r;
  }

  /** obs-route: "@" domain *("," "@" domain) (RFC 5322 section 4.4). */
  private domainList(): number {
    const out: number[] = [];
    for (;;) {
      if (this.lex.atEnd) return 0;
      if (this.lex.c() !== 0x40) break;
      if (out.length > 0) out.push(0x2c);
      out.push(0x40);
      const r = this.lex.domain(out);
      if (r <= 0) return r;
      while (this.lex.skipLwsp() > 0 && this.lex.c() === 0x2c) this.lex.pos++;
    }
    this.addr.route = Buffer.from(out);
    return 1;
  }

  private angleAddr(): number {
    const lex = this.lex;
    lex.pos++;
    if (lex.skipLwsp() <= 0) return -1;
    if (lex.c() === 0x40) {
      if (this.domainList() > 0 && lex.c() === 0x3a) lex.pos++;
      else {
        this.addr.route = b('INVALID_ROUTE');
        if (lex.atEnd) return -1;
      }
      if (lex.skipLwsp() <= 0) return -1;
    }
    if (lex.c() !== 0x3e) {
      if (this.localPart([]) <= 0) return -1;
      if (lex.c() === 0x40 && this.domain() <= 0) return -1;
    }
    if (lex.c() !== 0x3e) return -1;
    lex.pos++;
    return lex.skipLwsp();
  }

  private nameAddr(): number {
    const str: number[] = [];
    if (this.lex.phrase(str) <= 0 || this.lex.c() !== 0x3c) return -1;
    this.addr.name = str.length === 0 ? null : Buffer.from(str);
    if (this.angleAddr() < 0) {
      this.addr.domain = b('SYNTAX_ERROR');
      this.addr.invalid = true;
    }
    return this.lex.atEnd ? 0 : 1;
  }

  private addrSpec(): number {
    const lex = this.lex;
    lex.lastComment = null;
    const quoted = lex.c() === 0x22;
    const str: number[] = [];
    let ret = this.localPart(str);
    let ret2 = -2;
    if (ret <= 0) this.addr.invalid = true;
    if (ret !== 0 && !lex.atEnd && lex.c() === 0x40) {
      ret2 = this.domain();
      if (ret2 <= 0) ret = ret2;
    }
    const comment = lex.comment();
    if (comment !== null && comment.length > 0) this.addr.name = comment;
    else if (ret2 === -2) {
      // a lone word is a local part without domain, more words are a display name without address
      str.push(0x20);
      const len = str.length;
      lex.phrase(str);
      if (str.length !== len) {
        this.addr.mailbox = null;
        this.addr.name = Buffer.from(str);
      } else if (!quoted) this.addr.domain = Buffer.alloc(0);
      this.addr.invalid = true;
      ret = -1;
    }
    return ret;
  }

  private mailbox(): number {
    const start = this.lex.pos;
    let ret = this.nameAddr();
    if (ret < 0) {
      this.lex.pos = start;
      ret = this.addrSpec();
      const a = this.addr;
      if (a.invalid && a.name === null && a.mailbox !== null && a.domain === null) {
        a.name = a.mailbox;
        a.mailbox = null;
      }
    }
    this.addFixed();
    return ret;
  }

  private group(): number {
    const lex = this.lex;
    const str: number[] = [];
    if (lex.phrase(str) <= 0 || lex.c() !== 0x3a) return -1;
    lex.pos++;
    let ret = lex.skipLwsp();
    this.addr.mailbox = Buffer.from(str);
    this.add(); // group start
    if (ret > 0 && lex.c() !== 0x3b) {
      for (;;) {
        this.mailbox();
        if (lex.atEnd || lex.c() !== 0x2c) break;
        lex.pos++;
        if (lex.skipLwsp() <= 0) {
          ret = -1;
          break;
        }
      }
    }
    if (ret >= 0) {
      if (lex.atEnd || lex.c() !== 0x3b) ret = -1;
      else {
        lex.pos++;
        ret = lex.skipLwsp();
      }
    }
    this.add(); // group end
    return ret === 0 ? 0 : 1;
  }

  private address(): number {
    const start = this.lex.pos;
    const ret = this.group();
    if (ret >= 0) return ret;
    this.lex.pos = start;
    return this.mailbox();
  }

  parse(): Address[] | null {
    if (this.lex.skipLwsp() <= 0) return null; // no addresses
    for (;;) {
      if (this.address() === 0) break;
      if (this.lex.atEnd || this.lex.c() !== 0x2c) break;
      this.lex.pos++;
      const r = this.lex.skipLwsp();
      if (r <= 0) {
        if (r < 0) this.addFixed(); // ends with garbage
        break;
      }
    }
    return this.list;
  }
}

/** The addresses of one address field's value; null when it holds none. */
export function parseAddresses(value: Buffer): Address[] | null {
  return new AddressParser(value).parse();
}
