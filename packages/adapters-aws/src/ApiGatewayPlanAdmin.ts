/**
 * The `PlanAdmin` port on API Gateway usage plan keys: `GetUsagePlans` with `keyId` for a key's plans,
 * `GetUsagePlanKeys` for a plan's keys, `CreateUsagePlanKey` and `DeleteUsagePlanKey`, all through the shared management-API rate limiter.
 *
 * Before writing, the adapter checks the port's preconditions itself (the target plan exists; the key
 * is not already in it or in another plan on one of its stages; a key to remove is in the plan), so the
 * typed answer (`NotFound`, `Conflict`) does not depend on how strict the backend is: API Gateway
 * answers these itself, local emulators such as moto do not. AWS's own `NotFoundException` and
 * `ConflictException` still map to the same reasons when a concurrent change slips between check and
 * write. Moves are rare (driven by webhooks), so the extra reads cost little of the budget.
 *
 * @since 0.1.0
 */
import { Ids, PlanAdmin } from "@augint-billing/core"
import {
  type ApiStage,
  CreateUsagePlanKeyCommand,
  DeleteUsagePlanKeyCommand,
  GetUsagePlanCommand,
  GetUsagePlanKeysCommand,
  GetUsagePlansCommand,
  type UsagePlan
} from "@aws-sdk/client-api-gateway"
import { Effect, Layer, Schema } from "effect"
import * as ApiGateway from "./ApiGateway.js"
import type * as AwsConfig from "./AwsConfig.js"
import type { Classified } from "./internal/awsError.js"
import { send } from "./internal/sdk.js"

const adminError = (operation: string) => (failure: Classified, cause: unknown) =>
  new PlanAdmin.PlanAdminError({
    reason: failure.kind === "ConditionFailed" ? "Conflict" : failure.kind,
    message: `API Gateway ${operation} ${failure.message}`,
    cause
  })

const fail = (reason: "NotFound" | "Conflict" | "BadRequest", message: string) =>
  Effect.fail(new PlanAdmin.PlanAdminError({ reason, message }))

const isPlanId = Schema.is(Ids.UsagePlanId)

const stageKey = (s: ApiStage) => `${s.apiId ?? ""}/${s.stage ?? ""}`

/**
 * Build the plan admin over the shared client and limiter.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (api: ApiGateway.ApiGatewayService): PlanAdmin.PlanAdminService => {
  const call = <A>(operation: string, run: (abortSignal: AbortSignal) => Promise<A>) =>
    api.limit(send(run, adminError(operation)))

  // Every page of the plans the key is in.
  const plansWithKey = (apiKeyId: Ids.ApiKeyId) =>
    Effect.gen(function*() {
      const plans: Array<UsagePlan> = []
      let position: string | undefined = undefined
      do {
        const page: { items?: Array<UsagePlan> | undefined; position?: string | undefined } = yield* call(
          "GetUsagePlans",
          (abortSignal) =>
            api.client.send(
              new GetUsagePlansCommand({
                keyId: apiKeyId,
                limit: 500,
                ...(position === undefined ? {} : { position })
              }),
              { abortSignal }
            )
        )
        plans.push(...(page.items ?? []))
        position = page.position === "" ? undefined : page.position
      } while (position !== undefined)
      return plans
    })

  const planIds = (plans: ReadonlyArray<UsagePlan>) =>
    Effect.forEach(plans, (p) =>
      isPlanId(p.id)
        ? Effect.succeed(p.id)
        : fail("BadRequest", `GetUsagePlans returned a plan with a malformed id ${JSON.stringify(p.id)}`))

  const plansOf = (apiKeyId: Ids.ApiKeyId) =>
    plansWithKey(apiKeyId).pipe(
      Effect.flatMap(planIds),
      Effect.withSpan("ApiGatewayPlanAdmin.plansOf", { attributes: { apiKeyId } })
    )

  const addKey = (input: { readonly usagePlanId: Ids.UsagePlanId; readonly apiKeyId: Ids.ApiKeyId }) =>
    Effect.gen(function*() {
      const { apiKeyId, usagePlanId } = input
      const target = yield* call(
        "GetUsagePlan",
        (abortSignal) => api.client.send(new GetUsagePlanCommand({ usagePlanId }), { abortSignal })
      )
      const current = yield* plansWithKey(apiKeyId)
      if (current.some((p) => p.id === usagePlanId)) {
        return yield* fail("Conflict", `key ${apiKeyId} is already in usage plan ${usagePlanId}`)
      }
      const stages = new Set((target.apiStages ?? []).map(stageKey))
      const clash = current.find((p) => (p.apiStages ?? []).some((s) => stages.has(stageKey(s))))
      if (clash !== undefined) {
        return yield* fail(
          "Conflict",
          `key ${apiKeyId} is in usage plan ${clash.id} on a stage of ${usagePlanId}: one plan per key per stage`
        )
      }
      yield* call(
        "CreateUsagePlanKey",
        (abortSignal) =>
          api.client.send(new CreateUsagePlanKeyCommand({ usagePlanId, keyId: apiKeyId, keyType: "API_KEY" }), {
            abortSignal
          })
      )
    }).pipe(Effect.withSpan("ApiGatewayPlanAdmin.addKey", { attributes: { ...input } }))

  const removeKey = (input: { readonly usagePlanId: Ids.UsagePlanId; readonly apiKeyId: Ids.ApiKeyId }) =>
    Effect.gen(function*() {
      const { apiKeyId, usagePlanId } = input
      const current = yield* plansWithKey(apiKeyId)
      if (!current.some((p) => p.id === usagePlanId)) {
        return yield* fail("NotFound", `key ${apiKeyId} is not in usage plan ${usagePlanId}`)
      }
      yield* call(
        "DeleteUsagePlanKey",
        (abortSignal) =>
          api.client.send(new DeleteUsagePlanKeyCommand({ usagePlanId, keyId: apiKeyId }), { abortSignal })
      )
    }).pipe(Effect.withSpan("ApiGatewayPlanAdmin.removeKey", { attributes: { ...input } }))

  const isKeyId = Schema.is(Ids.ApiKeyId)

  const keysPage = (input: { readonly usagePlanId: Ids.UsagePlanId; readonly position?: string }) =>
    call("GetUsagePlanKeys", (abortSignal) =>
      api.client.send(
        new GetUsagePlanKeysCommand({
          usagePlanId: input.usagePlanId,
          limit: PlanAdmin.MAX_KEYS_PAGE_SIZE,
          ...(input.position === undefined ? {} : { position: input.position })
        }),
        { abortSignal }
      )).pipe(
        Effect.flatMap((page) =>
          Effect.forEach(page.items ?? [], (item) =>
            isKeyId(item.id)
              ? Effect.succeed(item.id)
              : fail("BadRequest", `GetUsagePlanKeys returned a key with a malformed id ${JSON.stringify(item.id)}`))
            .pipe(Effect.map((keys): PlanAdmin.KeysPage =>
              page.position === undefined || page.position === "" ? { keys } : { keys, position: page.position }
            ))
        ),
        Effect.withSpan("ApiGatewayPlanAdmin.keysPage", { attributes: { usagePlanId: input.usagePlanId } })
      )

  return { plansOf, addKey, removeKey, keysPage }
}

/**
 * `PlanAdmin` over an `ApiGateway` client provided from outside (to share its rate limiter).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerFromClient: Layer.Layer<PlanAdmin.PlanAdmin, never, ApiGateway.ApiGateway> = Layer.effect(
  PlanAdmin.PlanAdmin,
  Effect.map(ApiGateway.ApiGateway, make)
)

/**
 * `PlanAdmin` on API Gateway with explicit options; the Layer owns its client and limiter.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: ApiGateway.Options = {}): Layer.Layer<PlanAdmin.PlanAdmin> =>
  layerFromClient.pipe(Layer.provide(ApiGateway.layer(options)))

/**
 * `PlanAdmin` on API Gateway configured from the environment.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig: Layer.Layer<PlanAdmin.PlanAdmin, AwsConfig.AwsConfigError> = layerFromClient.pipe(
  Layer.provide(ApiGateway.layerConfig)
)
