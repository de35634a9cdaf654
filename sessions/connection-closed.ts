// The one error for "the client went away": thrown where a session writes to, or waits for, a connection
// that closed (or was closed under it); the command it interrupts is abandoned, and nothing is answered.

/** The connection went away while we were writing or waiting; the command is abandoned. */
export class ConnectionClosed extends Error {
  constructor() {
    super('the connection closed');
  }
}
