/**
 * Small helpers of the Stripe adapter: memoized lookups, list paging, id decoding, and the reading of
 * a duplicate meter event identifier.
 */
import { Stripe as Port } from "@augint-billing/core"
import { Effect, Option, Ref, Schema } from "effect"
import type StripeSdk from "stripe"
import * as Errors from "./errors.js"

/** An effect that runs `self` until it first succeeds, then answers with that value. */
export const memoizeSuccess = <A, E>(self: Effect.Effect<A, E>): Effect.Effect<Effect.Effect<A, E>> =>
  Effect.map(Ref.make(Option.none<A>()), (ref) =>
    Effect.flatMap(
      Ref.get(ref),
      Option.match({
        onSome: Effect.succeed,
        onNone: () => Effect.tap(self, (a) => Ref.set(ref, Option.some(a)))
      })
    ))

/** Every item of a Stripe list, page after page. */
export const listAll = <T extends { readonly id: string }>(
  page: (startingAfter: string | undefined) => Effect.Effect<StripeSdk.ApiList<T>, Port.StripeError>
): Effect.Effect<Array<T>, Port.StripeError> =>
  Effect.gen(function*() {
    const items: Array<T> = []
    let startingAfter: string | undefined = undefined
    while (true) {
      const current: StripeSdk.ApiList<T> = yield* page(startingAfter)
      items.push(...current.data)
      const last = current.data[current.data.length - 1]
      if (!current.has_more || last === undefined) return items
      startingAfter = last.id
    }
  })

/** Decode an id Stripe returned; a malformed one is a `Server` error. */
export const decodeId = <A>(schema: Schema.Schema<A, string>, what: string) => (id: string) =>
  Schema.decodeUnknown(schema)(id).pipe(
    Effect.mapError(() =>
      new Port.StripeError({ reason: "Server", message: `Stripe returned a malformed ${what}: ${id}` })
    )
  )

/** The id of an expandable field (an id, an object, or null). */
export const idOf = (value: string | { readonly id: string } | null | undefined): string | undefined =>
  value === null || value === undefined ? undefined : typeof value === "string" ? value : value.id

/** Whether a meter event was refused because its identifier was already accepted. */
export const isDuplicateIdentifier = (error: Port.StripeError): boolean => {
  if (error.reason !== "InvalidRequest") return false
  const cause: unknown = error.cause
  const code = Errors.isSdkError(cause) ? cause.code : undefined
  if (code !== undefined && /duplicate/i.test(code)) return true
  return /identifier/i.test(error.message) && /(already|duplicate|exists|unique)/i.test(error.message)
}
