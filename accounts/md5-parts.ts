// Two MD5-based password formats that node:crypto cannot check directly, written from their published
// descriptions: Dovecot's {CRAM-MD5} (the two inner states of HMAC-MD5 keyed with the password, which
// needs MD5's compression function on its own), and the "$1$" MD5-crypt of FreeBSD (Poul-Henning Kamp).
import { createHash } from 'node:crypto';

// RFC 1321: the per-round constants, the shift amounts, the initial state.
const K = Array.from({ length: 64 }, (_, i) => Math.floor(Math.abs(Math.sin(i + 1)) * 2 ** 32) >>> 0);
const SHIFT = [7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21];
const INITIAL = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476];

/** One MD5 compression of the 64-octet `block` into `state` (four 32-bit words, changed in place). */
function compress(state: number[], block: Buffer): void {
  let [a, b, c, d] = state;
  for (let i = 0; i < 64; i++) {
    const round = i >> 4;
    let f: number;
    let g: number;
    if (round === 0) {
      f = (b & c) | (~b & d);
      g = i;
    } else if (round === 1) {
      f = (d & b) | (~d & c);
      g = (5 * i + 1) % 16;
    } else if (round === 2) {
      f = b ^ c ^ d;
      g = (3 * i + 5) % 16;
    } else {
      f = c ^ (b | ~d);
      g = (7 * i) % 16;
    }
    const sum = (a + f + K[i] + block.readUInt32LE(4 * g)) >>> 0;
    const s = SHIFT[(round << 2) | (i & 3)];
    const rotated = ((sum << s) | (sum >>> (32 - s))) >>> 0;
    a = d;
    d = c;
    c = b;
    b = (b + rotated) >>> 0;
  }
  state[0] = (state[0] + a) >>> 0;
  state[1] = (state[1] + b) >>> 0;
  state[2] = (state[2] + c) >>> 0;
  state[3] = (state[3] + d) >>> 0;
}

/**
 * Dovecot's {CRAM-MD5} value for a password: the MD5 state after the outer pad block (key ^ 0x5c), then
 * the state after the inner pad block (key ^ 0x36), each as four little-endian words (32 octets).
 */
export function cramMd5Context(password: Buffer): Buffer {
  const key = Buffer.alloc(64);
  (password.length > 64 ? createHash('md5').update(password).digest() : password).copy(key);
  const out = Buffer.alloc(32);
  for (const [offset, pad] of [
    [0, 0x5c],
    [16, 0x36],
  ] as const) {
    const state = [...INITIAL];
    compress(state, Buffer.from(key.map((x) => x ^ pad)));
    state.forEach((word, i) => {
      out.writeUInt32LE(word, offset + 4 * i);
    });
  }
  return out;
}

const ITOA64 = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

function to64(value: number, count: number): string {
  let out = '';
  for (let i = 0; i < count; i++, value >>>= 6) out += ITOA64[value & 0x3f];
  return out;
}

/** MD5-crypt: "$1$<salt>$<22 characters>" for `password` with the salt of `setting` ("$1$salt[$...]"). */
export function md5Crypt(password: Buffer, setting: string): string {
  const salt = Buffer.from(setting.slice(3).split('$')[0].slice(0, 8), 'latin1');
  const magic = Buffer.from('$1$');
  let final = createHash('md5').update(password).update(salt).update(password).digest();
  const ctx = createHash('md5').update(password).update(magic).update(salt);
  for (let left = password.length; left > 0; left -= 16) ctx.update(final.subarray(0, Math.min(16, left)));
  for (let i = password.length; i > 0; i >>= 1) ctx.update(i & 1 ? Buffer.from([0]) : password.subarray(0, 1));
  final = ctx.digest();
  // 1000 rounds to slow it down (the algorithm's own, fixed)
  for (let i = 0; i < 1000; i++) {
    const round = createHash('md5');
    round.update(i & 1 ? password : final);
    if (i % 3) round.update(salt);
    if (i % 7) round.update(password);
    round.update(i & 1 ? final : password);
    final = round.digest();
  }
  const f = final;
  const groups = [
    [f[0], f[6], f[12]],
    [f[1], f[7], f[13]],
    [f[2], f[8], f[14]],
    [f[3], f[9], f[15]],
    [f[4], f[10], f[5]],
  ];
  let hash = groups.map(([x, y, z]) => to64((x << 16) | (y << 8) | z, 4)).join('');
  hash += to64(f[11], 2);
  return `$1$${salt.toString('latin1')}$${hash}`;
}
