// The rule for file-system calls made in place on the event loop (lib/in-place.ts): calls slower than
// SLOW_CALL_MS twice in a row (or one over VERY_SLOW_CALL_MS) turn them off for OFF_MS, longer each time
// the file system is found slow again at once; a network or FUSE file system (statfs type) or the config
// turns them off for good.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  inPlaceNow,
  inPlaceState,
  learnFileSystem,
  MAX_OFF_MS,
  networkFileSystem,
  noteInPlaceCall,
  OFF_MS,
  resetInPlaceForTests,
  SLOW_CALL_MS,
  setInPlacePolicy,
  VERY_SLOW_CALL_MS,
  timedInPlace,
} from '../../lib/in-place.js';

let now = 1_000_000;
const clock = () => now;

afterEach(() => resetInPlaceForTests());

describe('calls made in place', () => {
  it('stay on while each call is quick, up to the threshold', () => {
    resetInPlaceForTests(clock);
    expect(inPlaceNow()).toBe(true);
    for (let i = 0; i < 1000; i++) noteInPlaceCall(SLOW_CALL_MS);
    expect(inPlaceNow()).toBe(true);
  });

  it('stay on after one slow call alone (a garbage collection, the scheduler), off after two in a row', () => {
    resetInPlaceForTests(clock);
    for (let i = 0; i < 100; i++) {
      noteInPlaceCall(SLOW_CALL_MS + 5);
      noteInPlaceCall(0.004);
    }
    expect(inPlaceNow()).toBe(true);
    noteInPlaceCall(SLOW_CALL_MS + 0.1);
    expect(inPlaceNow()).toBe(true);
    noteInPlaceCall(SLOW_CALL_MS + 0.1);
    expect(inPlaceNow()).toBe(false);
  });

  it('turn off after one very slow call, and on again after the quiet period', () => {
    resetInPlaceForTests(clock);
    noteInPlaceCall(VERY_SLOW_CALL_MS);
    expect(inPlaceNow()).toBe(true);
    noteInPlaceCall(0.01);
    noteInPlaceCall(VERY_SLOW_CALL_MS + 0.1);
    expect(inPlaceNow()).toBe(false);
    now += OFF_MS - 1;
    expect(inPlaceNow()).toBe(false);
    now += 1;
    expect(inPlaceNow()).toBe(true);
  });

  it('stay off twice as long when found slow again soon after, up to the longest period; a quiet stretch starts over', () => {
    resetInPlaceForTests(clock);
    const periods: number[] = [];
    for (let i = 0; i < 7; i++) {
      noteInPlaceCall(300); // the first call once they are on again is slow again
      periods.push(inPlaceState().offForMs);
      now += inPlaceState().offForMs;
      expect(inPlaceNow()).toBe(true);
    }
    expect(periods).toEqual([OFF_MS, 2 * OFF_MS, 4 * OFF_MS, 8 * OFF_MS, MAX_OFF_MS, MAX_OFF_MS, MAX_OFF_MS]);
    now += OFF_MS; // a quiet stretch as long as the base period
    noteInPlaceCall(300);
    expect(inPlaceState().offForMs).toBe(OFF_MS);
  });

  it('a slow call that began before they turned off does not lengthen the period', () => {
    resetInPlaceForTests(clock);
    noteInPlaceCall(100);
    now += 1000;
    noteInPlaceCall(100);
    expect(inPlaceState().offForMs).toBe(OFF_MS - 1000);
  });

  it('timedInPlace times the call, and times it when it throws', () => {
    resetInPlaceForTests(clock);
    expect(timedInPlace(() => 7)).toBe(7);
    expect(inPlaceNow()).toBe(true);
    expect(() =>
      timedInPlace(() => {
        now += 60; // a look-up that waited 60 ms for a server, then failed
        throw new Error('ESTALE');
      }),
    ).toThrow('ESTALE');
    expect(inPlaceNow()).toBe(false);
  });

  it('are off with the policy never, on again with auto', () => {
    setInPlacePolicy('never');
    expect(inPlaceNow()).toBe(false);
    setInPlacePolicy('auto');
    expect(inPlaceNow()).toBe(true);
  });
});

describe('the file system the mail is on', () => {
  it('names the network and FUSE types statfs gives, and no local one', () => {
    expect(networkFileSystem(0x6969)).toBe('nfs');
    expect(networkFileSystem(0xff534d42)).toBe('cifs');
    expect(networkFileSystem(0xfe534d42)).toBe('smb2');
    expect(networkFileSystem(0x65735546)).toBe('fuse');
    expect(networkFileSystem(0x00c36400)).toBe('ceph');
    expect(networkFileSystem(0x01021997)).toBe('9p');
    expect(networkFileSystem(BigInt(0x6969))).toBe('nfs');
    for (const local of [
      0xef53 /* ext2/3/4 */, 0x58465342 /* xfs */, 0x9123683e /* btrfs */, 0x01021994 /* tmpfs */, 0x794c7630 /* overlay */,
    ])
      expect(networkFileSystem(local)).toBeNull();
  });

  it('a local folder keeps calls in place; they are off while statfs is under way', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'postern-in-place-'));
    try {
      const learning = learnFileSystem(join(dir, 'not', 'made', 'yet')); // the nearest folder above is asked
      expect(inPlaceNow()).toBe(false);
      expect(await learning).toBeNull();
      expect(inPlaceNow()).toBe(true);
      expect(inPlaceState().offForGood).toBeNull();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('/proc/self/fd is not on a network file system; a FUSE mount, when there is one here, turns calls off for good', async () => {
    expect(await learnFileSystem('/proc/self')).toBeNull();
    expect(inPlaceNow()).toBe(true);
    const { readFile } = await import('node:fs/promises');
    const fuse = (await readFile('/proc/mounts', 'utf8')).split('\n').find((l) => / fuse(\.\S+)? /.test(l) && !/ fusectl /.test(l));
    if (!fuse) return; // none mounted on this machine
    expect(await learnFileSystem(fuse.split(' ')[1])).toBe('fuse');
    expect(inPlaceNow()).toBe(false);
    expect(inPlaceState().offForGood).toMatch(/fuse/);
  });
});

describe('store.inPlaceCalls in the config', () => {
  it('is auto by default, takes never, and refuses anything else with the values it takes', async () => {
    const { validateConfig, ConfigError } = await import('../../server/config.js');
    const { MODULE_TABLE } = await import('../../modules/table.js');
    expect(validateConfig({}, null, MODULE_TABLE).store.inPlaceCalls).toBe('auto');
    expect(validateConfig({ store: { inPlaceCalls: 'never' } }, null, MODULE_TABLE).store.inPlaceCalls).toBe('never');
    expect(() => validateConfig({ store: { inPlaceCalls: 'sometimes' } }, null, MODULE_TABLE)).toThrow(ConfigError);
    expect(() => validateConfig({ store: { inPlaceCalls: 'sometimes' } }, null, MODULE_TABLE)).toThrow(/auto or never/);
  });
});
