/**
 * The `UsageSource` port on API Gateway `GetUsage`: one page of every key's counts per UTC day for a
 * usage plan, through the shared management-API rate limiter.
 *
 * @since 0.1.0
 */
import { UsageSource, UtcDay } from "@augint-billing/core"
import { GetUsageCommand } from "@aws-sdk/client-api-gateway"
import { Effect, Either, Layer } from "effect"
import * as ApiGateway from "./ApiGateway.js"
import type * as AwsConfig from "./AwsConfig.js"
import type { Classified } from "./internal/awsError.js"
import { send } from "./internal/sdk.js"
import { parseItems } from "./internal/usage.js"

const usageError = (failure: Classified, cause: unknown) =>
  new UsageSource.UsageSourceError({
    reason: failure.kind === "ConditionFailed" || failure.kind === "Conflict" ? "BadRequest" : failure.kind,
    message: `API Gateway GetUsage ${failure.message}`,
    cause
  })

const bad = (message: string) => new UsageSource.UsageSourceError({ reason: "BadRequest", message })

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
      return api.limit(send(
        (abortSignal) =>
          api.client.send(
            new GetUsageCommand({
              usagePlanId: query.usagePlanId,
              startDate: query.startDay,
              endDate: query.endDay,
              limit,
              ...(query.apiKeyId === undefined ? {} : { keyId: query.apiKeyId }),
              ...(query.position === undefined ? {} : { position: query.position })
            }),
            { abortSignal }
          ),
        usageError
      )).pipe(
        Effect.flatMap((out) =>
          Either.match(parseItems(out.items, days), {
            onLeft: (message) => Effect.fail(bad(message)),
            onRight: (items): Effect.Effect<UsageSource.UsagePage> =>
              Effect.succeed({ items, position: out.position === "" ? undefined : out.position })
          })
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
