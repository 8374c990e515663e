/**
 * The `UsageSource` port on API Gateway `GetUsage`: one page of every key's counts per UTC day for a
 * usage plan, through the shared management-API rate limiter. A key whose daily list left days out
 * (see `internal/usage.ts`) is read again one day at a time, so no count lands on another day.
 *
 * @since 0.1.0
 */
import { type Ids, UsageSource, UtcDay } from "@augint-billing/core"
import { GetUsageCommand } from "@aws-sdk/client-api-gateway"
import { Effect, Either, Layer } from "effect"
import * as ApiGateway from "./ApiGateway.js"
import type * as AwsConfig from "./AwsConfig.js"
import type { Classified } from "./internal/awsError.js"
import { send } from "./internal/sdk.js"
import { type ParsedKey, parseItems } from "./internal/usage.js"

const usageError = (failure: Classified, cause: unknown) =>
  new UsageSource.UsageSourceError({
    reason: failure.kind === "ConditionFailed" || failure.kind === "Conflict" ? "BadRequest" : failure.kind,
    message: `API Gateway GetUsage ${failure.message}`,
    cause
  })

const bad = (message: string) => new UsageSource.UsageSourceError({ reason: "BadRequest", message })

type Range = { readonly usagePlanId: string; readonly startDay: UtcDay.UtcDay; readonly endDay: UtcDay.UtcDay }

// One GetUsage request through the shared budget; the answer must be for the range asked.
const getUsage = (
  api: ApiGateway.ApiGatewayService,
  range: Range,
  extra: { readonly limit: number; readonly keyId?: string | undefined; readonly position?: string | undefined }
) =>
  api.limit(send(
    (abortSignal) =>
      api.client.send(
        new GetUsageCommand({
          usagePlanId: range.usagePlanId,
          startDate: range.startDay,
          endDate: range.endDay,
          limit: extra.limit,
          ...(extra.keyId === undefined ? {} : { keyId: extra.keyId }),
          ...(extra.position === undefined ? {} : { position: extra.position })
        }),
        { abortSignal }
      ),
    usageError
  )).pipe(
    Effect.filterOrFail(
      (out) => (out.startDate ?? range.startDay) === range.startDay && (out.endDate ?? range.endDay) === range.endDay,
      (out) => bad(`GetUsage answered for ${out.startDate}..${out.endDate}, asked ${range.startDay}..${range.endDay}`)
    )
  )

const parsed = (items: unknown, days: number): Effect.Effect<ReadonlyArray<ParsedKey>, UsageSource.UsageSourceError> =>
  Either.match(parseItems(items, days), {
    onLeft: (message) => Effect.fail(bad(message)),
    onRight: (keys) => Effect.succeed(keys)
  })

// A key whose list left days out: one request per day with `keyId`; a one-day list is never ambiguous.
const resolve = (api: ApiGateway.ApiGatewayService, range: Range, apiKeyId: Ids.ApiKeyId) =>
  Effect.forEach(
    UtcDay.between(range.startDay, range.endDay),
    (day) =>
      getUsage(api, { usagePlanId: range.usagePlanId, startDay: day, endDay: day }, { limit: 1, keyId: apiKeyId }).pipe(
        Effect.flatMap((out) => parsed(out.items, 1)),
        Effect.flatMap((keys) => {
          const own = keys.find((k) => k._tag === "Counts" && k.usage.apiKeyId === apiKeyId)
          return own?._tag === "Counts"
            ? Effect.succeed(own.usage.counts[0]!)
            : keys.length === 0
            ? Effect.succeed(0)
            : Effect.fail(bad(`GetUsage with keyId ${apiKeyId} for ${day} answered for other keys`))
        })
      )
  ).pipe(Effect.map((counts): UsageSource.KeyUsage => ({ apiKeyId, counts })))

/**
 * Build the usage source over the shared client and limiter.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (api: ApiGateway.ApiGatewayService): UsageSource.UsageSourceService => ({
  getUsagePage: (query) =>
    Effect.suspend(() => {
      // Checked here, before spending a request of the budget on a call API Gateway would refuse.
      const days = UtcDay.between(query.startDay, query.endDay).length
      if (days === 0) return Effect.fail(bad(`startDay ${query.startDay} is after endDay ${query.endDay}`))
      if (days > UsageSource.MAX_RANGE_DAYS) {
        return Effect.fail(
          bad(`the range spans ${days} days; API Gateway allows at most ${UsageSource.MAX_RANGE_DAYS}`)
        )
      }
      const limit = query.limit ?? UsageSource.MAX_PAGE_SIZE
      if (!Number.isInteger(limit) || limit < 1 || limit > UsageSource.MAX_PAGE_SIZE) {
        return Effect.fail(bad(`limit must be 1-${UsageSource.MAX_PAGE_SIZE}, got ${limit}`))
      }
      return getUsage(api, query, { limit, keyId: query.apiKeyId, position: query.position }).pipe(
        Effect.flatMap((out) =>
          parsed(out.items, days).pipe(
            Effect.flatMap((keys) =>
              Effect.forEach(
                keys,
                (key) => key._tag === "Counts" ? Effect.succeed(key.usage) : resolve(api, query, key.apiKeyId)
              )
            ),
            Effect.map((items): UsageSource.UsagePage => ({
              items,
              position: out.position === "" ? undefined : out.position
            }))
          )
        )
      )
    }).pipe(Effect.withSpan("ApiGatewayUsageSource.getUsagePage", { attributes: { usagePlanId: query.usagePlanId } }))
})

/**
 * `UsageSource` over an `ApiGateway` client provided from outside (to share its rate limiter).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerFromClient: Layer.Layer<UsageSource.UsageSource, never, ApiGateway.ApiGateway> = Layer.effect(
  UsageSource.UsageSource,
  Effect.map(ApiGateway.ApiGateway, make)
)

/**
 * `UsageSource` on API Gateway with explicit options; the Layer owns its client and limiter.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: ApiGateway.Options = {}): Layer.Layer<UsageSource.UsageSource> =>
  layerFromClient.pipe(Layer.provide(ApiGateway.layer(options)))

/**
 * `UsageSource` on API Gateway configured from the environment.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig: Layer.Layer<UsageSource.UsageSource, AwsConfig.AwsConfigError> = layerFromClient.pipe(
  Layer.provide(ApiGateway.layerConfig)
)
