/**
 * LISTEN on a connection of its own, which reconnects by itself (postgres.js' `sql.listen` fits):
 * `onListen` runs at every (re)connection, since whatever was sent while it was down is lost.
 */
export interface NotificationListener {
  listen(
    channel: string,
    onMessage: (payload: string) => void,
    onListen?: () => void,
  ): Promise<{ unlisten(): Promise<void> }>;
}

/** A listener that can also NOTIFY through the pool (postgres.js' `sql.notify`). */
export interface NotificationChannel extends NotificationListener {
  notify(channel: string, payload: string): PromiseLike<unknown>;
}
