// A REST API on LocalStack whose one GET method requires an API key (MOCK integration, stage "prod"),
// two usage plans on that stage (FREE_10K, METERED) and one key in neither: what the end-to-end key
// checks (localstack-check.mjs, packages/adapters-aws/test/LocalStack.test.ts) invoke.
import {
  APIGatewayClient,
  CreateApiKeyCommand,
  CreateDeploymentCommand,
  CreateRestApiCommand,
  CreateUsagePlanCommand,
  GetResourcesCommand,
  PutIntegrationCommand,
  PutIntegrationResponseCommand,
  PutMethodCommand,
  PutMethodResponseCommand
} from "@aws-sdk/client-api-gateway"

/** Client options for LocalStack at `endpoint`. */
export const clientOptions = (endpoint) => ({
  endpoint,
  region: "us-east-1",
  credentials: { accessKeyId: "test", secretAccessKey: "test" }
})

/** Create the API, its plans and a key; `invoke()` answers the HTTP status of a request with the key. */
export const createKeyedApi = async (endpoint) => {
  const client = new APIGatewayClient(clientOptions(endpoint))
  const send = (command) => client.send(command)
  const api = await send(new CreateRestApiCommand({ name: `key-check-${Date.now()}` }))
  const root = (await send(new GetResourcesCommand({ restApiId: api.id }))).items[0]
  const method = { restApiId: api.id, resourceId: root.id, httpMethod: "GET" }
  await send(new PutMethodCommand({ ...method, authorizationType: "NONE", apiKeyRequired: true }))
  await send(
    new PutIntegrationCommand({ ...method, type: "MOCK", requestTemplates: { "application/json": "{\"statusCode\": 200}" } })
  )
  await send(new PutMethodResponseCommand({ ...method, statusCode: "200" }))
  await send(
    new PutIntegrationResponseCommand({ ...method, statusCode: "200", responseTemplates: { "application/json": "{}" } })
  )
  await send(new CreateDeploymentCommand({ restApiId: api.id, stageName: "prod" }))
  const stage = [{ apiId: api.id, stage: "prod" }]
  const free = await send(new CreateUsagePlanCommand({ name: "FREE_10K", apiStages: stage }))
  const metered = await send(new CreateUsagePlanCommand({ name: "METERED", apiStages: stage }))
  const key = await send(new CreateApiKeyCommand({ name: "key-check", enabled: true }))
  const invoke = async () =>
    (await fetch(`${endpoint}/restapis/${api.id}/prod/_user_request_/`, { headers: { "x-api-key": key.value } })).status
  return { client, freePlanId: free.id, meteredPlanId: metered.id, apiKeyId: key.id, invoke }
}
