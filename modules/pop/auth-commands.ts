// Signing in with USER and PASS (RFC 1939 section 7). An unknown user gets +OK to USER and the same
// answer to PASS, after the same time, as a wrong password: names cannot be probed.
import { PopError, badCommand } from './pop-error.js';
import type { PopSession } from './session.js';

function checkUserPassAllowed(s: PopSession): void {
  if (!s.settings.userPass) throw new PopError('AUTH', 'USER/PASS is turned off here; sign in with APOP or AUTH');
}

export function user(s: PopSession, [name]: string[]): void {
  checkUserPassAllowed(s);
  s.pendingUser = name;
  s.send('+OK Send your password');
}

export async function pass(s: PopSession, [password]: string[]): Promise<void> {
  checkUserPassAllowed(s);
  const login = s.pendingUser;
  s.pendingUser = null;
  if (login === null) throw badCommand('Send USER first');
  const address = s.resolveLogin(login);
  const result = await s.services.accounts.signIn(address, password);
  await s.completeSignIn(login, address, result, 'USER');
}
