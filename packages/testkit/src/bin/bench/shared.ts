/**
 * What the sync benchmark's parent and child processes share: the targets, the result they pass, the
 * command line.
 *
 * @since 0.1.0
 */

/** The prefix of the line a child prints its result on. */
export const RESULT_PREFIX = "BENCH_RESULT "

/** The targets of issue #2, on a 2-core machine. */
export const TARGETS = {
  largestMillis: 5_000,
  largestRssMb: 512,
  maxScaling: 11
} as const

/** Port calls one run made, and the fewest it could make. */
export interface Calls {
  readonly made: Readonly<Record<string, number>>
  readonly minimum: Readonly<Record<string, number>>
}

/** What one repetition measured. */
export interface Repetition {
  readonly millis: number
  /** User + system CPU time of the process during the run: less sensitive than wall time to a busy machine. */
  readonly cpuMillis: number
  readonly calls: Calls
  readonly unitsSeeded: number
  readonly unitsAccepted: number
}

/** What a child reports for one size. */
export interface ChildResult {
  readonly customers: number
  readonly repetitions: ReadonlyArray<Repetition>
  readonly peakRssMb: number
  readonly days: ReadonlyArray<string>
}

/** The value after `name` on the command line. */
export const argValue = (name: string): string | undefined => {
  const i = process.argv.indexOf(name)
  return i < 0 ? undefined : process.argv[i + 1]
}
