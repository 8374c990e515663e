// Lambda trigger events as API Gateway REST (v1), HTTP API (v2), Function URLs and EventBridge send them.
import type { APIGatewayProxyEvent, APIGatewayProxyEventV2 } from "aws-lambda"
import StripeSdk from "stripe"
import type { Schedule } from "../../src/index.js"

/** A request as the three integrations carry it. */
export interface Request {
  readonly body: string
  readonly headers?: Record<string, string>
  readonly base64?: boolean
  readonly method?: string
}

const encode = (r: Request) => r.base64 === true ? Buffer.from(r.body, "utf8").toString("base64") : r.body

/** API Gateway REST API, Lambda proxy integration (payload 1.0): header case as the sender wrote it. */
export const restV1 = (r: Request): APIGatewayProxyEvent => ({
  resource: "/stripe/webhook",
  path: "/stripe/webhook",
  httpMethod: r.method ?? "POST",
  headers: { "Content-Type": "application/json; charset=utf-8", "User-Agent": "Stripe/1.0", ...r.headers },
  multiValueHeaders: Object.fromEntries(
    Object.entries({ "Content-Type": "application/json; charset=utf-8", ...r.headers }).map(([k, v]) => [k, [v]])
  ),
  queryStringParameters: null,
  multiValueQueryStringParameters: null,
  pathParameters: null,
  stageVariables: null,
  requestContext: {
    accountId: "123456789012",
    apiId: "abc123",
    authorizer: null,
    protocol: "HTTP/1.1",
    httpMethod: r.method ?? "POST",
    identity: {
      accessKey: null,
      accountId: null,
      apiKey: null,
      apiKeyId: null,
      caller: null,
      clientCert: null,
      cognitoAuthenticationProvider: null,
      cognitoAuthenticationType: null,
      cognitoIdentityId: null,
      cognitoIdentityPoolId: null,
      principalOrgId: null,
      sourceIp: "54.187.174.169",
      user: null,
      userAgent: "Stripe/1.0",
      userArn: null
    },
    path: "/prod/stripe/webhook",
    stage: "prod",
    requestId: "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
    requestTimeEpoch: 1_700_000_000_000,
    resourceId: "123456",
    resourcePath: "/stripe/webhook"
  },
  body: encode(r),
  isBase64Encoded: r.base64 === true
})

const v2 = (r: Request, domainName: string, routeKey: string): APIGatewayProxyEventV2 => ({
  version: "2.0",
  routeKey,
  rawPath: "/stripe/webhook",
  rawQueryString: "",
  // HTTP APIs and Function URLs lower-case header names.
  headers: Object.fromEntries(
    Object.entries({ "content-type": "application/json; charset=utf-8", "user-agent": "Stripe/1.0", ...r.headers })
      .map(([k, v]) => [k.toLowerCase(), v])
  ),
  requestContext: {
    accountId: "123456789012",
    apiId: domainName.split(".")[0]!,
    domainName,
    domainPrefix: domainName.split(".")[0]!,
    http: {
      method: r.method ?? "POST",
      path: "/stripe/webhook",
      protocol: "HTTP/1.1",
      sourceIp: "54.187.174.169",
      userAgent: "Stripe/1.0"
    },
    requestId: "JKJaXmPLvHcESHA=",
    routeKey,
    stage: "$default",
    time: "14/Nov/2023:22:13:20 +0000",
    timeEpoch: 1_700_000_000_000
  },
  body: encode(r),
  isBase64Encoded: r.base64 === true
})

/** HTTP API (payload 2.0). */
export const httpV2 = (r: Request) => v2(r, "r3pmxmplak.execute-api.us-east-1.amazonaws.com", "POST /stripe/webhook")

/** Lambda Function URL (payload 2.0, `$default` route; bodies arrive base64-encoded unless text). */
export const functionUrl = (r: Request) => v2(r, "abcdefg.lambda-url.us-east-1.on.aws", "$default")

/** An EventBridge Scheduler / rule `Scheduled Event`. */
export const scheduled = (id = "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa"): Schedule.ScheduledEvent => ({
  version: "0",
  id,
  "detail-type": "Scheduled Event",
  source: "aws.events",
  account: "123456789012",
  time: "2023-11-14T22:00:00Z",
  region: "us-east-1",
  resources: ["arn:aws:events:us-east-1:123456789012:rule/augint-billing-hourly"],
  detail: {}
})

/** A `Stripe-Signature` header made by the stripe SDK. */
export const sign = (payload: string, secret: string, timestamp: number): Promise<string> =>
  StripeSdk.webhooks.generateTestHeaderStringAsync({ payload, secret, timestamp })
