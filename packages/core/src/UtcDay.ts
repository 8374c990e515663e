/**
 * Calendar days in UTC, the unit in which API Gateway counts usage and in which usage is billed.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

const DAY_MS = 86_400_000

const isRealDay = (s: string): boolean => {
  const d = new Date(`${s}T00:00:00.000Z`)
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === s
}

/** A UTC calendar day, `YYYY-MM-DD`. @since 0.1.0 @category models */
export const UtcDay = Schema.String.pipe(
  Schema.pattern(/^\d{4}-\d{2}-\d{2}$/, { message: () => "a UTC day is written YYYY-MM-DD" }),
  Schema.filter(isRealDay, { message: () => "not a calendar day" }),
  Schema.brand("UtcDay")
)
/** A UTC calendar day, `YYYY-MM-DD`. @since 0.1.0 @category models */
export type UtcDay = typeof UtcDay.Type

/** The UTC day that contains the instant `epochMillis`. @since 0.1.0 @category constructors */
export const fromMillis = (epochMillis: number): UtcDay => new Date(epochMillis).toISOString().slice(0, 10) as UtcDay

/** The first millisecond of `day`. @since 0.1.0 @category utils */
export const startMillis = (day: UtcDay): number => Date.parse(`${day}T00:00:00.000Z`)

/** The last millisecond of `day`. @since 0.1.0 @category utils */
export const endMillis = (day: UtcDay): number => startMillis(day) + DAY_MS - 1

/** `day` moved by `n` days (negative moves back). @since 0.1.0 @category constructors */
export const add = (day: UtcDay, n: number): UtcDay => fromMillis(startMillis(day) + n * DAY_MS)

/** The `count` days ending with `last`, oldest first. @since 0.1.0 @category constructors */
export const range = (last: UtcDay, count: number): ReadonlyArray<UtcDay> =>
  Array.from({ length: Math.max(0, count) }, (_, i) => add(last, i - count + 1))

/**
 * The days from `from` to `to` inclusive, oldest first; empty when `from` is after `to`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const between = (from: UtcDay, to: UtcDay): ReadonlyArray<UtcDay> => {
  const n = Math.round((startMillis(to) - startMillis(from)) / DAY_MS) + 1
  return range(to, n)
}

/** Days are ordered as their text is. @since 0.1.0 @category utils */
export const compare = (a: UtcDay, b: UtcDay): number => (a < b ? -1 : a > b ? 1 : 0)
