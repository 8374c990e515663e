import type { APIGatewayClient } from "@aws-sdk/client-api-gateway"

/** Client options for LocalStack at `endpoint`. */
export declare const clientOptions: (endpoint: string) => {
  readonly endpoint: string
  readonly region: string
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string }
}

/** A REST API whose one method requires an API key, two usage plans on its stage and one key in neither. */
export declare const createKeyedApi: (endpoint: string) => Promise<{
  readonly client: APIGatewayClient
  readonly freePlanId: string
  readonly meteredPlanId: string
  readonly apiKeyId: string
  /** The HTTP status of a request made with the key. */
  readonly invoke: () => Promise<number>
}>
