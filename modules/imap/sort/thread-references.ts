// THREAD REFERENCES (RFC 5256 section 4), step by step as Dovecot takes them, so the answer is Dovecot's:
// (1) each message, in UID order, gets the container of its Message-ID (a second message with the same
//     id, or one without a valid id, gets a container of its own); its References (or, without any,
//     the first id of In-Reply-To) are linked in a chain, parent before child, never making a loop and
//     never changing a container's parent once set; then the message's parent is the last reference,
//     replacing what an earlier message guessed (and none when it has no references).
// (2) the containers without a parent are the roots.
// (3) dummies (ids no message here has) go: each message hangs under its nearest ancestor that is a
//     message, or under the topmost dummy; a root dummy with one child gives way to that child, one
//     with none is dropped.
// (4) siblings are ordered by sent date (the internal date when the Date field gives none), then by
//     UID (RFC: unspecified); a root dummy sorts as its first child.
// (5) roots with one base subject are gathered as the RFC says (a dummy root's subject is its first
//     child's; an empty one is left alone), then the roots are sorted again.
// Dovecot departs from the RFC in how (3) and (5) meet: it drops a one-child root dummy in step (4),
// after subjects were gathered for it as a dummy; we do the same.
import { IdTable } from './id-table.js';
import type { Threadable } from './thread-ordered-subject.js';

interface Root {
  /** The container (index into the node arrays); replaced by its child when a one-child dummy goes. */
  idx: number;
  dummy: boolean;
  ignore: boolean;
  date: number;
  seq: number;
  /** Step (5): the root this one was gathered under, or null. */
  under: Root | null;
  replyOrForward: boolean;
}

export function referencesThreads(items: readonly Threadable[], ids: IdTable = new IdTable()): string {
  // ---- (1) containers and links; a container is an index into these arrays ----
  const numbers = items.map((m) => ids.numbersOf(m.keys));
  /** The container of each id number, or -1 (ids are numbered per mailbox: those of other messages stay -1). */
  const byNumber = new Int32Array(ids.size).fill(-1);
  const item: (Threadable | null)[] = [];
  const parent: number[] = [];
  const container = (m: Threadable | null): number => {
    item.push(m);
    parent.push(-1);
    return item.length - 1;
  };
  const byId = (n: number): number => {
    let idx = byNumber[n];
    if (idx === -1) byNumber[n] = idx = container(null);
    return idx;
  };
  /** Containers that are (or were) someone's parent: only those can be an ancestor. */
  const hasChild: boolean[] = [];
  const link = (p: number, c: number): void => {
    if (parent[c] !== -1 || p === c) return; // an existing parent is kept
    // no loop: c must not be one of p's ancestors (a walk to the root, needed only when c has children)
    if (hasChild[c]) {
      for (let n = p; n !== -1; n = parent[n]) if (n === c) return;
    }
    parent[c] = p;
    hasChild[p] = true;
  };
  const order = items.map((_, i) => i);
  if (!items.every((m, i) => i === 0 || items[i - 1].seq < m.seq)) order.sort((a, b) => items[a].seq - items[b].seq);
  for (const i of order) {
    const m = items[i];
    const { own, refs } = numbers[i];
    let idx: number;
    const known = own === -1 ? -1 : byNumber[own];
    if (own === -1 || (known !== -1 && item[known] !== null)) idx = container(m);
    else if (known !== -1) {
      idx = known;
      item[idx] = m;
    } else byNumber[own] = idx = container(m);
    let last = -1;
    if (refs.length > 0) {
      last = byId(refs[0]);
      for (let r = 1; r < refs.length; r++) {
        const next = byId(refs[r]);
        link(last, next);
        last = next;
      }
    }
    if (parent[idx] !== last && parent[idx] !== -1) parent[idx] = -1;
    if (last !== -1) link(last, idx);
  }

  // ---- (2) roots, (3) messages under their nearest message ancestor: child lists as linked lists ----
  const firstChild: number[] = new Array(item.length).fill(-1);
  const nextSibling: number[] = new Array(item.length).fill(-1);
  const addChild = (p: number, c: number): void => {
    nextSibling[c] = firstChild[p];
    firstChild[p] = c;
  };
  for (let idx = 0; idx < item.length; idx++) {
    if (parent[idx] === -1 || item[idx] === null) continue;
    let p = parent[idx];
    while (item[p] === null && parent[p] !== -1) p = parent[p];
    addChild(p, idx);
  }
  // the roots (a dummy without children is left out: it would be dropped at once)
  const roots: Root[] = [];
  for (let idx = 0; idx < item.length; idx++) {
    if (parent[idx] !== -1 || (item[idx] === null && firstChild[idx] === -1)) continue;
    roots.push({ idx, dummy: item[idx] === null, ignore: false, date: 0, seq: 0, under: null, replyOrForward: false });
  }

  const msg = (idx: number) => item[idx] as Threadable;
  const byDate = (a: number, b: number) => msg(a).keys.date - msg(b).keys.date || msg(a).seq - msg(b).seq;
  /** The children of p, oldest first. */
  const sortedChildren = (p: number): number[] => {
    const list: number[] = [];
    for (let c = firstChild[p]; c !== -1; c = nextSibling[c]) list.push(c);
    if (list.length > 1) list.sort(byDate);
    return list;
  };
  /** The oldest child of p (p has one). */
  const oldestChild = (p: number): number => {
    let best = firstChild[p];
    for (let c = nextSibling[best]; c !== -1; c = nextSibling[c]) if (byDate(c, best) < 0) best = c;
    return best;
  };
  const sortRoots = (): void => {
    for (const r of roots) {
      if (r.ignore) continue;
      if (r.dummy) {
        const first = firstChild[r.idx];
        if (first === -1) {
          r.ignore = true;
          continue;
        }
        if (nextSibling[first] === -1) {
          r.idx = first;
          r.dummy = false;
        } else {
          const oldest = msg(oldestChild(r.idx));
          r.date = oldest.keys.date;
          r.seq = oldest.seq;
          continue;
        }
      }
      r.date = msg(r.idx).keys.date;
      r.seq = msg(r.idx).seq;
    }
    roots.sort((a, b) => a.date - b.date || a.seq - b.seq);
  };

  // ---- (4) ----
  sortRoots();

  // ---- (5) gather by base subject ----
  const subjects = new Map<string, Root>();
  for (const r of roots) {
    if (r.ignore) continue;
    const m = msg(r.dummy ? oldestChild(r.idx) : r.idx);
    const subject = m.keys.subject;
    if (subject === '') continue;
    const rof = m.keys.replyOrForward;
    const held = subjects.get(subject);
    if (held === undefined) subjects.set(subject, r);
    else if (!held.dummy && (r.dummy || (held.replyOrForward && !rof))) {
      held.under = r;
      subjects.set(subject, r);
    } else r.under = held;
    r.replyOrForward = rof;
  }
  let merged = false;
  const count = roots.length;
  for (let i = 0; i < count; i++) {
    const cur = roots[i];
    if (cur.under === null || cur.ignore) continue;
    merged = true;
    let top = cur.under;
    while (top.under !== null) top = top.under;
    if (cur.dummy) {
      for (let c = firstChild[cur.idx]; c !== -1; ) {
        const next = nextSibling[c];
        addChild(top.idx, c);
        c = next;
      }
      firstChild[cur.idx] = -1;
      cur.ignore = true;
    } else if (top.dummy || (cur.replyOrForward && !top.replyOrForward)) {
      addChild(top.idx, cur.idx);
      cur.ignore = true;
    } else {
      const idx = container(null);
      firstChild.push(-1);
      nextSibling.push(-1);
      addChild(idx, top.idx);
      addChild(idx, cur.idx);
      const dummy: Root = { idx, dummy: true, ignore: false, date: 0, seq: 0, under: null, replyOrForward: false };
      top.under = dummy;
      top.ignore = true;
      cur.ignore = true;
      roots.push(dummy);
    }
  }
  if (merged) sortRoots();

  // ---- the answer: "(a b (c)(d))"; written without recursion (a thread can be very deep) ----
  let out = '';
  // the stack holds containers to expand (>= 0) and closing parentheses (-1)
  const stack: number[] = [];
  const expand = (p: number): void => {
    const first = firstChild[p];
    if (nextSibling[first] === -1) {
      // an only child: no parentheses of its own
      out += `${msg(first).id}`;
      if (firstChild[first] !== -1) {
        out += ' ';
        stack.push(first);
      }
      return;
    }
    const kids = sortedChildren(p);
    for (let i = kids.length - 1; i >= 0; i--) stack.push(-2 - kids[i]); // -2 - k: "(k" then its children
  };
  for (const r of roots) {
    if (r.ignore) continue;
    if (firstChild[r.idx] === -1) {
      out += `(${msg(r.idx).id})`;
      continue;
    }
    out += r.dummy ? '(' : `(${msg(r.idx).id} `;
    stack.push(-1, r.idx);
    while (stack.length > 0) {
      const t = stack.pop() as number;
      if (t === -1) out += ')';
      else if (t >= 0) expand(t);
      else {
        const k = -2 - t;
        if (firstChild[k] === -1) out += `(${msg(k).id})`;
        else {
          out += `(${msg(k).id} `;
          stack.push(-1, k);
        }
      }
    }
  }
  return out;
}
