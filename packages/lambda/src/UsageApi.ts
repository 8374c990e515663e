/**
 * The customer usage endpoint for API Gateway REST (proxy, payload v1): the seller mounts it in their
 * own API as a Lambda integration. Two routes, told apart by what API Gateway vouches for:
 * - with an API key required, the caller's key (`requestContext.identity.apiKeyId`) names the customer;
 * - with IAM authorization, the seller's backend names any customer in the `customerId` path parameter
 *   (answered only when API Gateway says who signed: `requestContext.identity.userArn`).
 * Answers are cached per container (`CACHE`), so a busy caller cannot run up Stripe or API Gateway calls.
 *
 * @since 0.2.0
 */
import * as CardLink from "@augint-billing/core/CardLink"
import type * as CustomerSettings from "@augint-billing/core/CustomerSettings"
import * as CustomerUsage from "@augint-billing/core/CustomerUsage"
import type * as HandleEvent from "@augint-billing/core/HandleEvent"
import { ApiKeyId, CustomerId } from "@augint-billing/core/Ids"
import type { APIGatewayProxyEvent } from "aws-lambda"
import * as Cache from "effect/Cache"
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import type * as ManagedRuntime from "effect/ManagedRuntime"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"

/** The services the endpoint runs on. @since 0.2.0 @category models */
export type Services = HandleEvent.Services | CustomerSettings.CustomerSettings

/** The response API Gateway's proxy integration expects. @since 0.2.0 @category models */
export interface UsageResponse {
  readonly statusCode: number
  readonly headers: Readonly<Record<string, string>>
  readonly body: string
}

/** The body of a 200: the usage view, and for a free customer a link to add a card. @since 0.2.0 @category models */
export const UsageBody = Schema.Struct({
  ...CustomerUsage.UsageView.fields,
  cardLink: Schema.optional(CardLink.CardLink)
})

/**
 * The cache's limits, per container: a successful answer is reused for `successTtl` (a customer
 * polling every second costs one GetUsage and one invoice preview a minute per container), a failed
 * one for `failureTtl` (an unknown key cannot hammer the table), at most `capacity` callers are held
 * (least recently used dropped first), and concurrent requests of one caller share one lookup.
 *
 * @since 0.2.0
 * @category constants
 */
export const CACHE = {
  successTtl: Duration.seconds(60),
  failureTtl: Duration.seconds(10),
  capacity: 10_000
} as const

/** Who is asking about whom: a customer by its API key, or the seller by customer id. @since 0.2.0 @category models */
export type Caller =
  | { readonly _tag: "ApiKey"; readonly apiKeyId: ApiKeyId }
  | { readonly _tag: "Customer"; readonly customerId: CustomerId }

const cacheKey = (caller: Caller): string =>
  caller._tag === "ApiKey" ? `key:${caller.apiKeyId}` : `id:${caller.customerId}`

const fromKey = (key: string): Caller =>
  key.startsWith("key:")
    ? { _tag: "ApiKey", apiKeyId: ApiKeyId.make(key.slice(4)) }
    : { _tag: "Customer", customerId: CustomerId.make(key.slice(3)) }

/**
 * The caller an event is allowed to ask about, or the status to refuse it with: a `customerId` path
 * parameter only with an IAM-signed request, otherwise the request's API key.
 *
 * @since 0.2.0
 * @category utils
 */
export const callerOf = (
  event: APIGatewayProxyEvent
): Caller | { readonly _tag: "Refused"; readonly status: number } => {
  if (event.httpMethod !== "GET") return { _tag: "Refused", status: 405 }
  const identity = event.requestContext?.identity
  const customerId = event.pathParameters?.["customerId"]
  if (customerId !== undefined && customerId !== null) {
    // Only IAM authorization sets userArn: a route mounted without it must not read any customer.
    if (identity?.userArn === null || identity?.userArn === undefined || identity.userArn === "") {
      return { _tag: "Refused", status: 403 }
    }
    return /^cus_[A-Za-z0-9]+$/.test(customerId)
      ? { _tag: "Customer", customerId: CustomerId.make(customerId) }
      : { _tag: "Refused", status: 400 }
  }
  const apiKeyId = identity?.apiKeyId
  return apiKeyId === null || apiKeyId === undefined || apiKeyId === ""
    ? { _tag: "Refused", status: 403 }
    : { _tag: "ApiKey", apiKeyId: ApiKeyId.make(apiKeyId) }
}

// The view, with a card link for a free customer when the seller configured one.
const answer = (caller: Caller) =>
  Effect.gen(function*() {
    const view = caller._tag === "ApiKey"
      ? yield* CustomerUsage.usageOfKey(caller.apiKeyId)
      : yield* CustomerUsage.usageOf(caller.customerId)
    if (view.plan !== "FREE") return view
    const link = yield* CardLink.cardLink(view.customerId).pipe(
      Effect.map(Option.some),
      Effect.catchTag("CardLinkError", () => Effect.succeedNone)
    )
    return Option.match(link, { onNone: () => view, onSome: (cardLink) => ({ ...view, cardLink }) })
  })

/** What a cached lookup answers. @since 0.2.0 @category models */
export type Answer = Effect.Effect.Success<ReturnType<typeof answer>>
/** What a cached lookup fails with. @since 0.2.0 @category models */
export type AnswerError = Effect.Effect.Error<ReturnType<typeof answer>>

/** The per-container cache of answers. @since 0.2.0 @category services */
export class UsageCache extends Context.Tag("@augint-billing/lambda/UsageCache")<
  UsageCache,
  Cache.Cache<string, Answer, AnswerError>
>() {}

/** The cache, looking answers up on the endpoint's services. @since 0.2.0 @category layers */
export const layerCache: Layer.Layer<UsageCache, never, Services> = Layer.effect(
  UsageCache,
  Cache.makeWith({
    capacity: CACHE.capacity,
    lookup: (key: string) => answer(fromKey(key)),
    timeToLive: (exit) => Exit.isSuccess(exit) ? CACHE.successTtl : CACHE.failureTtl
  })
)

const json = (statusCode: number, body: unknown, headers: Record<string, string> = {}): UsageResponse => ({
  statusCode,
  headers: { "content-type": "application/json", ...headers },
  body: JSON.stringify(body)
})

const messages: Record<number, string> = {
  400: "malformed customer id",
  403: "no API key or IAM identity on the request",
  405: "only GET is allowed"
}

/**
 * Answer one request: 200 with the usage view, 404 for a key or id linked to no customer, 503 (retry
 * after a few seconds) when Stripe, API Gateway or the table failed.
 *
 * @since 0.2.0
 * @category utils
 */
export const handle = (event: APIGatewayProxyEvent): Effect.Effect<UsageResponse, never, UsageCache> =>
  Effect.gen(function*() {
    const caller = callerOf(event)
    if (caller._tag === "Refused") return json(caller.status, { error: messages[caller.status] })
    const cache = yield* UsageCache
    const result = yield* Effect.exit(cache.get(cacheKey(caller)))
    if (Exit.isSuccess(result)) {
      const body = Schema.encodeSync(UsageBody)(result.value)
      return json(200, body, { "cache-control": `private, max-age=${Duration.toSeconds(CACHE.successTtl)}` })
    }
    const failure = Cause.failureOption(result.cause)
    if (Option.isSome(failure) && failure.value._tag === "UnknownCustomer") {
      return json(404, { error: failure.value.message })
    }
    yield* Effect.logError("usage lookup failed").pipe(Effect.annotateLogs({ cause: Cause.pretty(result.cause) }))
    return json(503, { error: "usage is unavailable, try again shortly" }, {
      "retry-after": String(Duration.toSeconds(CACHE.failureTtl))
    })
  })

/** The Lambda handler over a runtime of the endpoint's services. @since 0.2.0 @category utils */
export const toHandler =
  <E>(runtime: ManagedRuntime.ManagedRuntime<UsageCache, E>) => (event: APIGatewayProxyEvent): Promise<UsageResponse> =>
    runtime.runPromise(handle(event))
