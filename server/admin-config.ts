// The admin: section: where `postern who` and `postern kick` reach the server (a unix socket only its
// user can open), and the token /admin/who and /admin/kick ask for over HTTP (README "Who is signed in").
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { z } from 'zod';

export const adminSchema = z
  .strictObject({
    /** The control socket (mode 0600); default dataDir/postern-control; false: none. */
    socket: z.union([z.string().min(1), z.literal(false)], { error: 'expected a socket path, or false for none' }).optional(),
    /** The bearer token of /admin/who and /admin/kick on the metrics HTTP server; without it they answer 403. */
    token: z
      .string({ error: 'expected a text (openssl rand -hex 32 makes one)' })
      .min(16, { error: 'expected at least 16 characters (openssl rand -hex 32 makes one)' })
      .optional(),
  })
  .prefault({});

export type AdminConfig = z.infer<typeof adminSchema>;

/**
 * The control socket's path (relative paths from the config's folder), or null when it is off. On a tree
 * shared by several machines (sharedTree) the default names the host: a socket is a file every machine
 * sees, and another machine's would answer nobody here.
 */
export function controlSocketPath(config: {
  readonly admin: AdminConfig;
  readonly dataDir: string;
  readonly baseDir: string;
  readonly sharedTree: boolean;
}): string | null {
  const socket = config.admin.socket;
  if (socket === false) return null;
  if (socket !== undefined) return resolve(config.baseDir, socket);
  return join(config.dataDir, config.sharedTree ? `postern-control-${hostname()}` : 'postern-control');
}
