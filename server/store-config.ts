// The store: section: how the Maildir store may make its file-system calls (lib/in-place.ts, README
// "Configuration").
import { z } from 'zod';

export const storeSchema = z
  .strictObject({
    /**
     * auto: the quick look-ups, locks, small writes and page-cache reads are made in place on the event loop
     * while they are fast (off for a while after slow ones; off for good on a network or FUSE file system);
     * never: every file-system call goes through the thread pool.
     */
    inPlaceCalls: z.enum(['auto', 'never'], { error: 'expected auto or never' }).default('auto'),
  })
  .prefault({});

export type StoreConfig = z.infer<typeof storeSchema>;
