// The local store's lock: a file naming its holder (pid, the process's start time, host), put in place
// atomically (written aside, then hard-linked to the lock's name, which fails if one exists), so a lock
// is never seen half written. A lock whose holder is gone (killed with -9) is stale and taken over: its
// pid is dead, or is alive but started at another time (the pid was reused), or it names no pid at all
// (the format before holders were recorded). A live holder is waited for, then named in the error.
import { FileSystem } from "@effect/platform"
import type { PlatformError } from "@effect/platform/Error"
import { Effect, Option } from "effect"
import { readFileSync } from "node:fs"
import { hostname } from "node:os"

/** Who holds a lock. */
export interface Holder {
  readonly pid: number
  /** The process's start time in clock ticks since boot (Linux `/proc/<pid>/stat`), null where unknown. */
  readonly start: string | null
  readonly host: string
}

/** A process's start time, null where `/proc` cannot tell. */
export const startTimeOf = (pid: number): string | null => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
    // Fields after the command name, which is in parentheses and may hold spaces; starttime is field 22.
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19] ?? null
  } catch {
    return null
  }
}

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    // EPERM: it exists, owned by someone else.
    return (e as NodeJS.ErrnoException).code === "EPERM"
  }
}

/** Parse a lock file's text: a holder, or none when it names no pid (a stale lock). */
export const parse = (text: string): Option.Option<Holder> => {
  try {
    const v = JSON.parse(text) as Partial<Holder>
    return typeof v.pid === "number" && Number.isInteger(v.pid) && v.pid > 0
      ? Option.some({ pid: v.pid, start: typeof v.start === "string" ? v.start : null, host: String(v.host ?? "") })
      : Option.none()
  } catch {
    return Option.none()
  }
}

/** Whether the holder named by a lock file's text is gone. */
export const isStale = (text: string): boolean =>
  Option.match(parse(text), {
    onNone: () => true,
    onSome: (h) => {
      // Another machine's process cannot be checked from here (a shared file system): never stale.
      if (h.host !== hostname()) return false
      if (!isAlive(h.pid)) return true
      const start = startTimeOf(h.pid)
      return h.start !== null && start !== null && start !== h.start
    }
  })

/** How an attempt to take the lock ended. */
export type Attempt =
  | { readonly _tag: "Taken" }
  | { readonly _tag: "Held"; readonly by: Option.Option<Holder> }

/** This process as a holder. */
export const self = (): Holder => ({ pid: process.pid, start: startTimeOf(process.pid), host: hostname() })

/**
 * Try once to take the lock at `path`: take it, take it over from a stale holder, or say who holds it.
 * Failures other than "it exists" (a read-only directory, a full disk) are returned as they are.
 */
export const attempt = (path: string, takeovers = 3): Effect.Effect<Attempt, PlatformError, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const mine = JSON.stringify(self())
    const aside = `${path}.${process.pid}`
    yield* fs.writeFileString(aside, mine)
    const linked = yield* fs.link(aside, path).pipe(
      Effect.as(true),
      Effect.catchIf((e) => e._tag === "SystemError" && e.reason === "AlreadyExists", () => Effect.succeed(false)),
      Effect.ensuring(fs.remove(aside).pipe(Effect.ignore))
    )
    if (linked) return { _tag: "Taken" } as Attempt
    const text = yield* fs.readFileString(path).pipe(Effect.orElseSucceed(() => ""))
    if (takeovers > 0 && isStale(text)) {
      // Remove it only if it is still the stale one read (another taker may have replaced it since).
      const again = yield* fs.readFileString(path).pipe(Effect.orElseSucceed(() => ""))
      if (again === text) yield* fs.remove(path).pipe(Effect.ignore)
      return yield* attempt(path, takeovers - 1)
    }
    return { _tag: "Held", by: parse(text) } as Attempt
  })

/** Remove the lock at `path` if this process holds it. */
export const release = (path: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const text = yield* fs.readFileString(path).pipe(Effect.orElseSucceed(() => ""))
    const holder = parse(text)
    if (Option.isSome(holder) && holder.value.pid === process.pid) yield* fs.remove(path).pipe(Effect.ignore)
  })
