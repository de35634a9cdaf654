// What the `sieve` part (sieve-scenario.ts) delivers and runs: the 20-rule user script every account has
// as its active script (Pigeonhole's layout: ~/sieve/bench.sieve and the ~/.dovecot.sieve symlink), the
// site-wide spam rule (config sieve.before, Pigeonhole's sieve_before), the folders the rules file into,
// and the messages: kinds of mail a person gets (lists, invoices, notifications, tickets, newsletters,
// spam, plain mail), each matching a different rule. None is addressed to the account itself, so the
// vacation at the end of the script runs but never answers (RFC 5230 section 4.5: the user's address
// must be among the recipient fields).

/** Every rule is a header, address, exists or size test with fileinto and/or imap4flags actions. */
export const USER_SCRIPT = `require ["fileinto", "imap4flags", "vacation"];
# 1-4: mailing lists and machines, filed and done
if header :contains "List-Id" "<announce.lists.example.net>" { fileinto "Announce"; stop; }
if header :contains "List-Id" "dev.lists.example.net" { fileinto "Dev"; stop; }
if address :domain :is "from" "billing.example.com" { addflag "$Invoice"; fileinto "Invoices"; stop; }
if address :localpart :is "from" "noreply" { fileinto "Notifications"; stop; }
# 5-10: by subject and headers
if header :matches "subject" "*[JIRA]*" { fileinto "Tickets"; }
if header :contains "subject" ["urgent", "asap"] { addflag "\\\\Flagged"; }
if address :is "from" ["boss@example.com", "ceo@example.com"] { addflag "\\\\Flagged"; fileinto "Important"; }
if header :is "X-Mailer" "Newsletter 3.1" { fileinto "Newsletters"; }
if exists "X-GitHub-Reason" { fileinto "GitHub"; }
if header :contains "subject" "build failed" { fileinto "CI"; }
# 11-20
if address :domain :is "to" "partners.example.org" { addflag "$Partner"; }
if size :over 1M { fileinto "Large"; }
if allof (header :contains "from" "calendar", header :contains "content-type" "text/calendar") { fileinto "Calendar"; }
if anyof (header :contains "subject" "invitation", header :contains "subject" "meeting") { addflag "$Meeting"; }
if not exists "Message-ID" { fileinto "Suspicious"; }
if header :contains "X-Priority" "1" { addflag "\\\\Flagged"; }
if address :all :contains "cc" "hr@" { fileinto "HR"; }
if header :contains "subject" "[SPAM?]" { fileinto "Junk"; }
if address :domain :is "from" "social.example.com" { fileinto "Social"; }
if header :contains "Precedence" "bulk" { addflag "$Bulk"; }
vacation :days 7 :subject "Away" :addresses ["me@example.com"] "I am away; your message will be read when I am back.";
`;

/** The site-wide rule run before every user's script (sieve.before / sieve_before). */
export const SPAM_RULE = `require "fileinto";
if header :contains "X-Spam-Flag" "YES" { fileinto "Junk"; }
`;

/** Every folder a rule names, made in each account beforehand (a fileinto a missing folder would keep). */
export const FOLDERS = [
  'Announce',
  'Dev',
  'Invoices',
  'Notifications',
  'Tickets',
  'Important',
  'Newsletters',
  'GitHub',
  'CI',
  'Large',
  'Calendar',
  'Suspicious',
  'HR',
  'Junk',
  'Social',
];

const PARAGRAPH =
  'Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna\r\n' +
  'aliqua. Ut enim ad minim veniam, quis nostrud exercitation ullamco laboris nisi ut aliquip ex ea commodo consequat.\r\n';

function message(n: number, headers: string[], size = 3000): string {
  const date = new Date(Date.UTC(2026, 11, 6, 9, 0, n)).toUTCString().replace('GMT', '+0000');
  const body = PARAGRAPH.repeat(Math.max(1, Math.round(size / PARAGRAPH.length)));
  return [...headers, `Date: ${date}`, 'MIME-Version: 1.0', 'Content-Type: text/plain; charset=us-ascii', '', body].join('\r\n');
}

export interface BenchMessage {
  /** What kind of mail it is, and where the script should put it (the probe shows where it went). */
  kind: string;
  sender: string;
  text: string;
}

/** The messages, in the order the clients cycle through them. */
export function benchMessages(): BenchMessage[] {
  const team = 'To: team@lists.example.net';
  return [
    {
      kind: 'list announce',
      sender: 'announce-bounces@lists.example.net',
      text: message(1, [
        'From: Announcements <announce@lists.example.net>',
        team,
        'Subject: Release 4.2 is out',
        'List-Id: Announcements <announce.lists.example.net>',
        'Precedence: list',
        'Message-ID: <r42@lists.example.net>',
      ]),
    },
    {
      kind: 'list dev',
      sender: 'dev-bounces@lists.example.net',
      text: message(2, [
        'From: Jo Dev <jo@example.org>',
        team,
        'Subject: Re: the parser rewrite',
        'List-Id: <dev.lists.example.net>',
        'Message-ID: <p1@example.org>',
      ]),
    },
    {
      kind: 'invoice',
      sender: 'invoices@billing.example.com',
      text: message(3, [
        'From: Billing <invoices@billing.example.com>',
        'To: accounts@example.net',
        'Subject: Your invoice for November',
        'Message-ID: <inv-11@billing.example.com>',
      ]),
    },
    {
      kind: 'ticket, urgent',
      sender: 'jira@example.net',
      text: message(4, [
        'From: Jira <jira@example.net>',
        'To: dev-team@example.net',
        'Subject: [JIRA] (OPS-12) urgent: disk full',
        'X-Priority: 1',
        'Message-ID: <ops-12@example.net>',
      ]),
    },
    {
      kind: 'newsletter, bulk',
      sender: 'news@news.example.com',
      text: message(5, [
        'From: News <news@news.example.com>',
        'To: subscribers@news.example.com',
        'Subject: This week: meeting rooms and more',
        'X-Mailer: Newsletter 3.1',
        'Precedence: bulk',
        'Message-ID: <nl-49@news.example.com>',
      ]),
    },
    {
      kind: 'spam (site rule)',
      sender: 'winner@spam.example.biz',
      text: message(6, [
        'From: Winner <winner@spam.example.biz>',
        'To: undisclosed-recipients:;',
        'Subject: You have won',
        'X-Spam-Flag: YES',
        'X-Spam-Score: 12.3',
        'Message-ID: <win@spam.example.biz>',
      ]),
    },
    {
      kind: 'from the boss',
      sender: 'boss@example.com',
      text: message(7, [
        'From: The Boss <boss@example.com>',
        'To: all-staff@example.com',
        'Cc: hr@example.com',
        'Subject: Team meeting on Friday',
        'Message-ID: <m-fri@example.com>',
      ]),
    },
    {
      kind: 'plain (INBOX)',
      sender: 'friend@example.org',
      text: message(8, [
        'From: A Friend <friend@example.org>',
        'To: old-address@example.net',
        'Subject: Dinner next week?',
        'Message-ID: <dinner@example.org>',
      ]),
    },
  ];
}
