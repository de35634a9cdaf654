// The commands and tests Postern knows: for each, the capability that brings it, its tagged arguments and its
// positional arguments (RFC 5228 and the extension RFCs the README lists), in the words Pigeonhole's
// validator uses for them ("argument 1 (folder)").

export type ArgType = 'string' | 'string list' | 'number';

/** A tagged argument. `group`: tags of one group exclude each other (MATCH-TYPE, ADDRESS-PART, ...). */
export interface TagSpec {
  readonly group: string;
  /** The value the tag stands for in its group (e.g. :localpart -> "localpart"). */
  readonly value: string;
  readonly param?: ArgType;
  /** The capability the tag needs beyond the command's own. */
  readonly ext?: string;
}

export interface Signature {
  readonly kind: 'command' | 'test';
  readonly ext: string | null;
  readonly tags: Readonly<Record<string, TagSpec>>;
  readonly positional: readonly { readonly type: ArgType; readonly name: string }[];
  /** Commands only: whether a block follows. */
  readonly block?: boolean;
  /** Tests and commands: sub-tests taken. */
  readonly subtests?: 'one' | 'list';
}

const tag = (group: string, value: string, param?: ArgType, ext?: string): TagSpec => ({ group, value, param, ext });

const COMPARATOR = { comparator: tag('comparator', 'comparator', 'string') };
const MATCH = {
  is: tag('MATCH-TYPE', 'is'),
  contains: tag('MATCH-TYPE', 'contains'),
  matches: tag('MATCH-TYPE', 'matches'),
  regex: tag('MATCH-TYPE', 'regex', undefined, 'regex'),
  count: tag('MATCH-TYPE', 'count', 'string', 'relational'),
  value: tag('MATCH-TYPE', 'value', 'string', 'relational'),
};
const ADDRESS_PART = {
  all: tag('ADDRESS-PART', 'all'),
  localpart: tag('ADDRESS-PART', 'localpart'),
  domain: tag('ADDRESS-PART', 'domain'),
  user: tag('ADDRESS-PART', 'user', undefined, 'subaddress'),
  detail: tag('ADDRESS-PART', 'detail', undefined, 'subaddress'),
};
const INDEX = { index: tag('index', 'index', 'number', 'index'), last: tag('last', 'last', undefined, 'index') };
const FLAGS = { flags: tag('flags', 'flags', 'string list', 'imap4flags') };
const COPY = { copy: tag('copy', 'copy', undefined, 'copy') };
const ZONE = { zone: tag('zone', 'zone', 'string'), originalzone: tag('zone', 'originalzone') };
const MATCHING = { ...COMPARATOR, ...MATCH };

const cmd = (ext: string | null, tags: Record<string, TagSpec>, positional: Signature['positional'], extra: Partial<Signature> = {}) =>
  ({ kind: 'command', ext, tags, positional, block: false, ...extra }) as Signature;
const test = (ext: string | null, tags: Record<string, TagSpec>, positional: Signature['positional'], extra: Partial<Signature> = {}) =>
  ({ kind: 'test', ext, tags, positional, ...extra }) as Signature;

const s = (name: string) => ({ type: 'string' as const, name });
const sl = (name: string) => ({ type: 'string list' as const, name });

export const COMMANDS: Readonly<Record<string, Signature>> = {
  require: cmd(null, {}, [sl('capabilities')]),
  if: cmd(null, {}, [], { block: true, subtests: 'one' }),
  elsif: cmd(null, {}, [], { block: true, subtests: 'one' }),
  else: cmd(null, {}, [], { block: true }),
  keep: cmd(null, { ...FLAGS }, []),
  discard: cmd(null, {}, []),
  stop: cmd(null, {}, []),
  redirect: cmd(null, { ...COPY }, [s('address')]),
  fileinto: cmd('fileinto', { ...COPY, ...FLAGS, create: tag('create', 'create', undefined, 'mailbox') }, [s('folder')]),
  reject: cmd('reject', {}, [s('reason')]),
  ereject: cmd('ereject', {}, [s('reason')]),
  vacation: cmd(
    'vacation',
    {
      days: tag('period', 'days', 'number'),
      seconds: tag('period', 'seconds', 'number', 'vacation-seconds'),
      subject: tag('subject', 'subject', 'string'),
      from: tag('from', 'from', 'string'),
      addresses: tag('addresses', 'addresses', 'string list'),
      mime: tag('mime', 'mime'),
      handle: tag('handle', 'handle', 'string'),
    },
    [s('reason')],
  ),
  set: cmd(
    'variables',
    {
      lower: tag('modifier', 'lower'),
      upper: tag('modifier', 'upper'),
      lowerfirst: tag('modifier', 'lowerfirst'),
      upperfirst: tag('modifier', 'upperfirst'),
      quotewildcard: tag('modifier', 'quotewildcard'),
      quoteregex: tag('modifier', 'quoteregex', undefined, 'regex'),
      length: tag('modifier', 'length'),
    },
    [s('name'), s('value')],
  ),
  setflag: cmd('imap4flags', {}, [sl('list of flags')]),
  addflag: cmd('imap4flags', {}, [sl('list of flags')]),
  removeflag: cmd('imap4flags', {}, [sl('list of flags')]),
  include: cmd(
    'include',
    {
      personal: tag('location', 'personal'),
      global: tag('location', 'global'),
      once: tag('once', 'once'),
      optional: tag('optional', 'optional'),
    },
    [s('script-name')],
  ),
  return: cmd('include', {}, []),
  global: cmd('include', {}, [sl('value')]),
  addheader: cmd('editheader', { last: tag('last', 'last') }, [s('field name'), s('value')]),
  deleteheader: cmd('editheader', { ...MATCHING, index: tag('index', 'index', 'number'), last: tag('last', 'last') }, [
    s('field name'),
    sl('value patterns'),
  ]),
};

export const TESTS: Readonly<Record<string, Signature>> = {
  true: test(null, {}, []),
  false: test(null, {}, []),
  not: test(null, {}, [], { subtests: 'one' }),
  allof: test(null, {}, [], { subtests: 'list' }),
  anyof: test(null, {}, [], { subtests: 'list' }),
  exists: test(null, {}, [sl('header names')]),
  size: test(null, { over: tag('over', 'over'), under: tag('under', 'under') }, [{ type: 'number', name: 'limit' }]),
  header: test(null, { ...MATCHING, ...INDEX }, [sl('header names'), sl('key list')]),
  address: test(null, { ...MATCHING, ...ADDRESS_PART, ...INDEX }, [sl('header list'), sl('key list')]),
  envelope: test('envelope', { ...MATCHING, ...ADDRESS_PART }, [sl('envelope part'), sl('key list')]),
  string: test('variables', { ...MATCHING }, [sl('source'), sl('key list')]),
  hasflag: test('imap4flags', { ...MATCHING }, [sl('variable list | key list'), sl('key list')]),
  date: test('date', { ...MATCHING, ...ZONE, ...INDEX }, [s('header name'), s('date part'), sl('key list')]),
  currentdate: test('date', { ...MATCHING, zone: ZONE.zone }, [s('date part'), sl('key list')]),
  mailboxexists: test('mailbox', {}, [sl('mailbox-names')]),
  duplicate: test(
    'duplicate',
    {
      handle: tag('handle', 'handle', 'string'),
      header: tag('header', 'header', 'string'),
      uniqueid: tag('uniqueid', 'uniqueid', 'string'),
      seconds: tag('seconds', 'seconds', 'number'),
      last: tag('last', 'last'),
    },
    [],
  ),
  environment: test('environment', { ...MATCHING }, [s('name'), sl('key-list')]),
  spamtest: test('spamtest', { ...MATCHING, percent: tag('percent', 'percent', undefined, 'spamtestplus') }, [s('value')]),
  virustest: test('virustest', { ...MATCHING }, [s('value')]),
  body: test(
    'body',
    {
      ...MATCHING,
      raw: tag('transform', 'raw'),
      text: tag('transform', 'text'),
      content: tag('transform', 'content', 'string list'),
    },
    [sl('key list')],
  ),
};
