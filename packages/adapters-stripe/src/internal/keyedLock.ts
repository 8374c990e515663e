/**
 * At most one holder per key at a time; entries are dropped when nobody holds or waits for them,
 * so the map stays as small as the number of keys in use.
 */
import { Effect } from "effect"

/** Run effects under a per-key mutex. */
export interface KeyedLock<K> {
  readonly withLock: (key: K) => <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
}

interface Entry {
  readonly semaphore: Effect.Semaphore
  users: number
}

/** A fresh keyed lock. */
export const make = <K>(): Effect.Effect<KeyedLock<K>> =>
  Effect.sync(() => {
    const entries = new Map<K, Entry>()
    const acquire = (key: K) =>
      Effect.sync(() => {
        let entry = entries.get(key)
        if (entry === undefined) {
          entry = { semaphore: Effect.unsafeMakeSemaphore(1), users: 0 }
          entries.set(key, entry)
        }
        entry.users++
        return entry
      })
    const release = (key: K, entry: Entry) =>
      Effect.sync(() => {
        entry.users--
        if (entry.users === 0) entries.delete(key)
      })
    return {
      withLock: (key) => (self) =>
        Effect.acquireUseRelease(
          acquire(key),
          (entry) => entry.semaphore.withPermits(1)(self),
          (entry) => release(key, entry)
        )
    }
  })
