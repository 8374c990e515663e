// Where the local servers answer, and helpers shared by the integration tests.
import { Effect } from "effect"
import type { AwsConfig } from "../../src/index.js"

/** DynamoDB Local (scripts/servers/dynamodb-local.sh). */
export const dynamoEndpoint = `http://127.0.0.1:${process.env.DYNAMODB_LOCAL_PORT ?? "18000"}`
/** LocalStack in host mode (scripts/servers/localstack.sh). */
export const localstackEndpoint = `http://127.0.0.1:${process.env.LOCALSTACK_PORT ?? "14566"}`
/** moto server (scripts/servers/moto.sh). */
export const motoEndpoint = `http://127.0.0.1:${process.env.MOTO_PORT ?? "15000"}`

const credentials = { accessKeyId: "test", secretAccessKey: "test" }

/** Client options for DynamoDB Local. */
export const dynamo: AwsConfig.ClientOptions = { region: "us-east-1", endpoint: dynamoEndpoint, credentials }
/** Client options for moto. */
export const moto: AwsConfig.ClientOptions = { region: "us-east-1", endpoint: motoEndpoint, credentials }

/** Forget everything moto holds. */
export const resetMoto = Effect.promise(async () => {
  const res = await fetch(`${motoEndpoint}/moto-api/reset`, { method: "POST" })
  if (!res.ok) throw new Error(`moto reset answered ${res.status}`)
})

let counter = 0
/** A name no other test (or earlier run against the same shared DynamoDB Local) uses. */
export const unique = (prefix: string) =>
  `${prefix}${Date.now().toString(36)}${process.pid.toString(36)}${(counter++).toString(36)}`
