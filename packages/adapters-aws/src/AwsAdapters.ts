/**
 * All three AWS ports in one Layer: `CustomerRepo` on DynamoDB, and `UsageSource` and `PlanAdmin`
 * sharing one API Gateway client and one rate limiter.
 *
 * @since 0.1.0
 */
import type { CustomerRepo, PlanAdmin, UsageSource } from "@augint-billing/core"
import { Layer } from "effect"
import * as ApiGateway from "./ApiGateway.js"
import * as ApiGatewayPlanAdmin from "./ApiGatewayPlanAdmin.js"
import * as ApiGatewayUsageSource from "./ApiGatewayUsageSource.js"
import type * as AwsConfig from "./AwsConfig.js"
import * as DynamoCustomerRepo from "./DynamoCustomerRepo.js"

/**
 * The ports the AWS adapters provide.
 *
 * @since 0.1.0
 * @category models
 */
export type Ports = CustomerRepo.CustomerRepo | UsageSource.UsageSource | PlanAdmin.PlanAdmin

/**
 * Options of both clients.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** The customer table. */
  readonly dynamoDb: DynamoCustomerRepo.Options
  /** The API Gateway management API. */
  readonly apiGateway?: ApiGateway.Options
}

const apiGatewayPorts = Layer.merge(ApiGatewayUsageSource.layerFromClient, ApiGatewayPlanAdmin.layerFromClient)

/**
 * The three ports with explicit options.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options): Layer.Layer<Ports> =>
  Layer.merge(
    DynamoCustomerRepo.layer(options.dynamoDb),
    apiGatewayPorts.pipe(Layer.provide(ApiGateway.layer(options.apiGateway)))
  )

/**
 * The three ports configured from the environment (`AWS_REGION`, `TABLE_NAME`/`STACK_NAME`, endpoint overrides).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig: Layer.Layer<Ports, AwsConfig.AwsConfigError> = Layer.merge(
  DynamoCustomerRepo.layerConfig,
  apiGatewayPorts.pipe(Layer.provide(ApiGateway.layerConfig))
)
