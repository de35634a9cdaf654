// A real OpenLDAP slapd (Debian's `slapd`) for the LDAP directory's tests and the directory bench: a generated slapd.conf and an
// LDIF of users in a temporary folder, loaded with slapadd before the start, served on a free port over
// ldap:// (with STARTTLS) and ldaps:// with a self-signed certificate made by openssl. The ACL is a
// usual Dovecot site's: the service DN (cn=dovecot) reads userPassword, anyone may bind as a user (auth),
// nobody else reads the hashes. Stopped and started again on the same ports when a test says.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:net';
import { allThreadsStopped } from './proc.js';
import { freeRestartablePort, selfSignedCertificate } from './server.js';

export const LDAP_SUFFIX = 'dc=example,dc=org';
export const LDAP_PEOPLE = `ou=people,${LDAP_SUFFIX}`;
/** The DN Postern (and Dovecot) bind as to search, and its password. */
export const LDAP_SERVICE = { dn: `cn=dovecot,${LDAP_SUFFIX}`, password: 'service-secret' };
export const LDAP_ADMIN = { dn: `cn=admin,${LDAP_SUFFIX}`, password: 'admin-secret' };

export interface LdapUser {
  /** uid (the RDN: uid=NAME,ou=people,...) */
  uid: string;
  /** mail: the login users sign in with (ann@example.org) */
  mail: string;
  /** userPassword as stored: {SSHA}..., {CRYPT}$6$..., {PLAIN}..., or a bare cleartext */
  userPassword?: string;
  homeDirectory?: string;
  /** a quota attribute (description is used: it exists in every schema) */
  quota?: string;
}

const SLAPD = '/usr/sbin/slapd';

/** Whether something accepts a TCP connection on 127.0.0.1:port now. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(1000, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}
const SLAPADD = '/usr/sbin/slapadd';

function ldif(users: readonly LdapUser[]): string {
  const lines = [
    `dn: ${LDAP_SUFFIX}`,
    'objectClass: dcObject',
    'objectClass: organization',
    'dc: example',
    'o: Example',
    '',
    `dn: ${LDAP_SERVICE.dn}`,
    'objectClass: simpleSecurityObject',
    'objectClass: organizationalRole',
    'cn: dovecot',
    `userPassword: ${LDAP_SERVICE.password}`,
    '',
    `dn: ${LDAP_PEOPLE}`,
    'objectClass: organizationalUnit',
    'ou: people',
    '',
  ];
  for (const u of users) {
    lines.push(
      `dn: uid=${u.uid},${LDAP_PEOPLE}`,
      'objectClass: inetOrgPerson',
      'objectClass: posixAccount',
      `uid: ${u.uid}`,
      `cn: ${u.uid}`,
      `sn: ${u.uid}`,
      `mail: ${u.mail}`,
      'uidNumber: 5000',
      'gidNumber: 5000',
      `homeDirectory: ${u.homeDirectory ?? `/nonexistent/${u.uid}`}`,
    );
    // base64 (::) keeps any byte of a hash as it is
    if (u.userPassword !== undefined) lines.push(`userPassword:: ${Buffer.from(u.userPassword).toString('base64')}`);
    if (u.quota !== undefined) lines.push(`description: ${u.quota}`);
    lines.push('');
  }
  return lines.join('\n');
}

function slapdConf(dir: string): string {
  return [
    'include /etc/ldap/schema/core.schema',
    'include /etc/ldap/schema/cosine.schema',
    'include /etc/ldap/schema/inetorgperson.schema',
    'include /etc/ldap/schema/nis.schema',
    `pidfile ${join(dir, 'slapd.pid')}`,
    `argsfile ${join(dir, 'slapd.args')}`,
    'modulepath /usr/lib/ldap',
    'moduleload back_mdb',
    `TLSCertificateFile ${join(dir, 'cert.pem')}`,
    `TLSCertificateKeyFile ${join(dir, 'key.pem')}`,
    'access to attrs=userPassword',
    `  by dn.exact="${LDAP_SERVICE.dn}" read`,
    '  by anonymous auth',
    '  by * none',
    'access to *',
    '  by * read',
    'database mdb',
    `suffix "${LDAP_SUFFIX}"`,
    `rootdn "${LDAP_ADMIN.dn}"`,
    `rootpw ${LDAP_ADMIN.password}`,
    `directory ${join(dir, 'db')}`,
    'maxsize 67108864',
    'index uid,mail eq',
    '',
  ].join('\n');
}

export class TestSlapd {
  private child: ChildProcess | null = null;

  private constructor(
    readonly dir: string,
    /** ldap:// (STARTTLS offered) */
    readonly port: number,
    /** ldaps:// */
    readonly tlsPort: number,
  ) {}

  get url(): string {
    return `ldap://127.0.0.1:${this.port}`;
  }

  get tlsUrl(): string {
    return `ldaps://localhost:${this.tlsPort}`;
  }

  /** The self-signed certificate (PEM) the server presents, for NODE_EXTRA_CA_CERTS or tlsOptions.ca. */
  get certFile(): string {
    return join(this.dir, 'cert.pem');
  }

  static async start(users: readonly LdapUser[]): Promise<TestSlapd> {
    if (!existsSync(SLAPD)) {
      throw new Error('slapd is not installed: these tests need a real OpenLDAP; install it with `apt-get install slapd ldap-utils`');
    }
    const dir = await mkdtemp(join(tmpdir(), 'postern-slapd-'));
    const s = new TestSlapd(dir, await freeRestartablePort(), await freeRestartablePort());
    await mkdir(join(dir, 'db'));
    await selfSignedCertificate(join(dir, 'key.pem'), join(dir, 'cert.pem'), 2);
    await writeFile(join(dir, 'slapd.conf'), slapdConf(dir));
    await writeFile(join(dir, 'users.ldif'), ldif(users));
    execFileSync(SLAPADD, ['-q', '-f', join(dir, 'slapd.conf'), '-l', join(dir, 'users.ldif')], { stdio: ['ignore', 'ignore', 'pipe'] });
    await s.resume();
    return s;
  }

  /** Starts slapd (again) on the same ports; resolves once it accepts connections. */
  async resume(): Promise<void> {
    // already running: a second slapd would fail on the ports and leave this one without its owner
    if (this.child && this.child.exitCode === null && this.child.signalCode === null) return;
    const urls = `ldap://127.0.0.1:${this.port}/ ldaps://127.0.0.1:${this.tlsPort}/`;
    // -d 0: stays in the foreground (a child the test can kill), logging nothing
    const child = spawn(SLAPD, ['-f', join(this.dir, 'slapd.conf'), '-h', urls, '-d', '0'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (d) => {
      stderr += d;
    });
    this.child = child;
    const deadline = Date.now() + 15_000;
    while (!(await accepts(this.port)) || !(await accepts(this.tlsPort))) {
      if (child.exitCode !== null) throw new Error(`slapd exited ${child.exitCode}: ${stderr}`);
      if (Date.now() > deadline) throw new Error(`slapd did not start: ${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    // the ports answer: this slapd's, not another program's (a slapd that cannot bind exits at once)
    await new Promise((r) => setTimeout(r, 100));
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`slapd exited ${child.exitCode ?? child.signalCode}: ${stderr}`);
  }

  /** slapd's process id while it runs (the bench reads its CPU time). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Kills slapd (-9): a directory that is down. */
  async pause(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill(signal);
    await exited;
    this.child = null;
  }

  /**
   * Stops slapd without killing it (SIGSTOP): connections stay open and nothing answers, as a hung server. Returns
   * once every one of its threads is stopped: kill() returns when the signal is sent, and on a loaded machine a
   * thread already running went on for 10-20 ms and answered a request sent after it (the hung-directory test
   * failed so in CI).
   */
  async freeze(): Promise<void> {
    const pid = this.child?.pid;
    if (pid === undefined) return;
    this.child?.kill('SIGSTOP');
    const deadline = Date.now() + 5000;
    while (!allThreadsStopped(pid)) {
      if (Date.now() > deadline) throw new Error(`slapd ${pid} did not stop within 5 s of SIGSTOP`);
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  }

  thaw(): void {
    this.child?.kill('SIGCONT');
  }

  /** Runs ldapsearch as the service DN (to check what the directory holds from the outside). */
  search(filter: string, ...attributes: string[]): string {
    return execFileSync(
      'ldapsearch',
      ['-x', '-LLL', '-H', this.url, '-D', LDAP_SERVICE.dn, '-w', LDAP_SERVICE.password, '-b', LDAP_PEOPLE, filter, ...attributes],
      { encoding: 'utf8' },
    );
  }

  async stop(): Promise<void> {
    this.thaw();
    await this.pause();
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** userPassword values in the schemes a site keeps: {SSHA} (slapd's own), {CRYPT} with SHA512-crypt, {PLAIN}. */
export function ssha(password: string, salt = Buffer.from('s4lt1234')): string {
  // RFC 2307's {SSHA}: base64(sha1(password + salt) + salt)
  const digest = createHash('sha1').update(password).update(salt).digest();
  return `{SSHA}${Buffer.concat([digest, salt]).toString('base64')}`;
}

export function sha512Crypt(password: string): string {
  return `{CRYPT}${execFileSync('openssl', ['passwd', '-6', '-salt', 'abcdefgh', password], { encoding: 'utf8' }).trim()}`;
}
