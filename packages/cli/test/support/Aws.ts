// AWS resources made directly in moto, for the tests that stand in for what `aws` or `sam deploy` does.
import { CloudFormationClient, CreateStackCommand } from "@aws-sdk/client-cloudformation"
import { dynamoEndpoint, motoEndpoint, stripeMockPort } from "./Servers.js"

const credentials = { accessKeyId: "test", secretAccessKey: "test" }

/** `aws secretsmanager create-secret` in moto (Secrets Manager's JSON protocol): the secret's ARN. */
export const createSecret = async (name: string, value: string): Promise<string> => {
  const res = await fetch(motoEndpoint, {
    method: "POST",
    headers: {
      "content-type": "application/x-amz-json-1.1",
      "x-amz-target": "secretsmanager.CreateSecret",
      authorization:
        "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/secretsmanager/aws4_request, SignedHeaders=host, Signature=x"
    },
    body: JSON.stringify({ Name: name, SecretString: value })
  })
  const body = (await res.json()) as { ARN: string }
  return body.ARN
}

/** A stack in moto's CloudFormation whose outputs are `values`, as a deployed template's would be. */
export const createStack = async (name: string, values: Record<string, string>): Promise<void> => {
  const cfn = new CloudFormationClient({ region: "us-east-1", endpoint: motoEndpoint, credentials })
  const template = {
    Resources: { Handle: { Type: "AWS::CloudFormation::WaitConditionHandle" } },
    Outputs: Object.fromEntries(Object.entries(values).map(([k, v]) => [k, { Value: v }]))
  }
  await cfn.send(new CreateStackCommand({ StackName: name, TemplateBody: JSON.stringify(template) }))
  cfn.destroy()
}

/** How to reach the servers (moto for CloudFormation, API Gateway and Secrets Manager), and nothing else. */
export const serversEnv: Record<string, string> = {
  AWS_REGION: "us-east-1",
  AWS_ACCESS_KEY_ID: "test",
  AWS_SECRET_ACCESS_KEY: "test",
  AWS_ENDPOINT_URL_CLOUDFORMATION: motoEndpoint,
  AWS_ENDPOINT_URL_DYNAMODB: dynamoEndpoint,
  AWS_ENDPOINT_URL_API_GATEWAY: motoEndpoint,
  AWS_ENDPOINT_URL_SECRETS_MANAGER: motoEndpoint,
  STRIPE_API_HOST: "127.0.0.1",
  STRIPE_API_PORT: stripeMockPort,
  STRIPE_API_PROTOCOL: "http",
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true"
}
