// The server settings the stress runs use: one IMAP listener, and room for 50 clients from one address
// signing in and out in a loop (the per-address defaults are 50 and 10).
export const STRESS_LISTENERS = [{ name: 'imap', module: 'imap', address: '127.0.0.1', port: 0 }];
export const STRESS_IMAP_CONFIG = { maxChannelsPerAddress: 500, maxUnauthenticatedPerAddress: 500, maxUnauthenticated: 500 };
