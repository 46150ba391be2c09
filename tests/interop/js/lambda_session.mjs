// One Lambda session through the AWS JavaScript SDK v3 (@aws-sdk/client-lambda), step by step,
// against the endpoint given: a layer, a function that uses it, tags, a second version, a
// weighted alias with a function URL (called with Node's fetch), permissions, an event-invoke
// config, provisioned concurrency, invocations, the configs lambkin answers with defaults, and
// then everything deleted again.
//
// Driven by tests/interop/test_js_sdk.py, which asserts on what this prints: one JSON object on
// stdout, `steps` holding what each step saw (values the server returned; an expected error as
// its err.name). The script itself checks nothing about lambkin's answers. When a call throws
// where no error was expected, it prints the steps so far plus `failed` (the step, err.name,
// err.message, the HTTP status) on stdout, the same on stderr, and exits 1.
//
// Usage:
//   node lambda_session.mjs --endpoint URL --function NAME --layer NAME --role ARN
//                           --code hello.zip --layer-zip layer.zip [--runtime provided.al2023]

import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";

import {
  AddPermissionCommand,
  CreateAliasCommand,
  CreateFunctionCommand,
  CreateFunctionUrlConfigCommand,
  DeleteAliasCommand,
  DeleteFunctionCommand,
  DeleteFunctionUrlConfigCommand,
  DeleteLayerVersionCommand,
  DeleteProvisionedConcurrencyConfigCommand,
  GetAliasCommand,
  GetFunctionCodeSigningConfigCommand,
  GetFunctionCommand,
  GetFunctionEventInvokeConfigCommand,
  GetFunctionRecursionConfigCommand,
  GetLayerVersionCommand,
  GetPolicyCommand,
  GetProvisionedConcurrencyConfigCommand,
  InvokeCommand,
  LambdaClient,
  ListEventSourceMappingsCommand,
  ListLayerVersionsCommand,
  ListTagsCommand,
  PublishLayerVersionCommand,
  PublishVersionCommand,
  PutFunctionEventInvokeConfigCommand,
  PutProvisionedConcurrencyConfigCommand,
  RemovePermissionCommand,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateAliasCommand,
  UpdateFunctionConfigurationCommand,
  waitUntilFunctionActiveV2,
  waitUntilFunctionUpdatedV2,
} from "@aws-sdk/client-lambda";

const { values: args } = parseArgs({
  options: {
    endpoint: { type: "string" },
    function: { type: "string" },
    layer: { type: "string" },
    role: { type: "string" },
    code: { type: "string" },
    "layer-zip": { type: "string" },
    runtime: { type: "string", default: "provided.al2023" },
  },
  strict: true,
});
for (const required of ["endpoint", "function", "layer", "role", "code", "layer-zip"]) {
  if (!args[required]) {
    console.error(`missing --${required}`);
    process.exit(2);
  }
}

const REGION = "us-east-1";
const FN = args.function;
const RUNTIME = args.runtime;
const WAIT_S = 30; // bound of every wait and polling loop
const PROVISIONED_WAIT_S = 60;

const client = new LambdaClient({
  endpoint: args.endpoint,
  region: REGION,
  credentials: { accessKeyId: "test", secretAccessKey: "test" },
  maxAttempts: 1, // a refused call is reported as it is, never retried
});

const steps = {};

/** The part of an SDK error a step records or a failure reports. */
function errorOf(err) {
  return {
    name: err?.name ?? String(err),
    message: err?.message ?? "",
    status: err?.$metadata?.httpStatusCode ?? null,
  };
}

/** Run one step: record what `fn` returns under `name`; on a throw, report it and exit 1. */
async function step(name, fn) {
  try {
    steps[name] = await fn();
  } catch (err) {
    const failed = { step: name, ...errorOf(err) };
    console.error(`step ${name} failed: ${failed.name}: ${failed.message} (HTTP ${failed.status})`);
    if (err?.stack) console.error(err.stack);
    process.stdout.write(JSON.stringify({ steps, failed }) + "\n");
    process.exit(1);
  }
}

/** Send `command`, expecting it to throw: the error's name and HTTP status, or (when it did not
 * throw) `error: null` and what it answered, for the test to fail on. */
async function expectError(command) {
  try {
    const answer = await client.send(command);
    return { error: null, status: answer.$metadata.httpStatusCode, answer: strip(answer) };
  } catch (err) {
    const { name, message, status } = errorOf(err);
    return { error: name, message, status };
  }
}

/** An SDK output without $metadata. */
function strip(output) {
  const { $metadata, ...rest } = output;
  return rest;
}

/** An SDK output as a step records it: its fields and the HTTP status. */
async function send(command) {
  const output = await client.send(command);
  return { status: output.$metadata.httpStatusCode, ...strip(output) };
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const decoder = new TextDecoder();

// -- a layer version ------------------------------------------------------------------------

await step("publish_layer_version", () =>
  send(
    new PublishLayerVersionCommand({
      LayerName: args.layer,
      Description: "greeting for the js session",
      Content: { ZipFile: readFileSync(args["layer-zip"]) },
      CompatibleRuntimes: [RUNTIME],
    }),
  ),
);
const layerVersionArn = steps.publish_layer_version.LayerVersionArn;
const layerVersion = steps.publish_layer_version.Version;

await step("get_layer_version", () =>
  send(new GetLayerVersionCommand({ LayerName: args.layer, VersionNumber: layerVersion })),
);
await step("list_layer_versions", () =>
  send(new ListLayerVersionsCommand({ LayerName: args.layer })),
);

// -- the function, published as version 1 ----------------------------------------------------

await step("create_function", () =>
  send(
    new CreateFunctionCommand({
      FunctionName: FN,
      Runtime: RUNTIME,
      Role: args.role,
      Handler: "hello.wasm",
      Code: { ZipFile: readFileSync(args.code) },
      MemorySize: 128,
      Environment: { Variables: { STAGE: "one" } },
      Layers: [layerVersionArn],
      Tags: { team: "interop", stage: "one" },
      Publish: true,
    }),
  ),
);
await step("wait_active", async () => {
  const result = await waitUntilFunctionActiveV2(
    { client, maxWaitTime: WAIT_S, minDelay: 1, maxDelay: 1 },
    { FunctionName: FN },
  );
  return { state: result.state, configurationState: result.reason?.Configuration?.State };
});

await step("get_function", () => send(new GetFunctionCommand({ FunctionName: FN })));
// CreateFunction with Publish answers version 1's configuration (a qualified ARN); tags belong to
// the function itself.
const functionArn = steps.get_function.Configuration.FunctionArn;

// -- tags ------------------------------------------------------------------------------------

await step("list_tags_initial", () => send(new ListTagsCommand({ Resource: functionArn })));
await step("tag_resource", () =>
  send(new TagResourceCommand({ Resource: functionArn, Tags: { stage: "two", owner: "qa" } })),
);
await step("untag_resource", () =>
  send(new UntagResourceCommand({ Resource: functionArn, TagKeys: ["team"] })),
);
await step("list_tags_final", () => send(new ListTagsCommand({ Resource: functionArn })));

// -- a configuration change, published as version 2 --------------------------------------------

await step("update_function_configuration", () =>
  send(
    new UpdateFunctionConfigurationCommand({
      FunctionName: FN,
      MemorySize: 256,
      Environment: { Variables: { STAGE: "two" } },
    }),
  ),
);
await step("wait_updated", async () => {
  const result = await waitUntilFunctionUpdatedV2(
    { client, maxWaitTime: WAIT_S, minDelay: 1, maxDelay: 1 },
    { FunctionName: FN },
  );
  return {
    state: result.state,
    lastUpdateStatus: result.reason?.Configuration?.LastUpdateStatus,
  };
});
await step("publish_version", () =>
  send(new PublishVersionCommand({ FunctionName: FN, Description: "memory 256, stage two" })),
);
const version2 = steps.publish_version.Version;

// -- the alias `live`: version 1, then version 2 with weight left on 1 -------------------------

await step("create_alias", () =>
  send(new CreateAliasCommand({ FunctionName: FN, Name: "live", FunctionVersion: "1" })),
);
await step("update_alias", () =>
  send(
    new UpdateAliasCommand({
      FunctionName: FN,
      Name: "live",
      FunctionVersion: version2,
      RoutingConfig: { AdditionalVersionWeights: { 1: 0.25 } },
    }),
  ),
);
await step("get_alias", () => send(new GetAliasCommand({ FunctionName: FN, Name: "live" })));

// -- a function URL on the alias, called exactly as handed out ---------------------------------

await step("create_function_url_config", () =>
  send(
    new CreateFunctionUrlConfigCommand({ FunctionName: FN, Qualifier: "live", AuthType: "NONE" }),
  ),
);
const functionUrl = steps.create_function_url_config.FunctionUrl;

await step("fetch_function_url", async () => {
  const resp = await fetch(functionUrl, { signal: AbortSignal.timeout(WAIT_S * 1000) });
  return {
    url: functionUrl,
    status: resp.status,
    contentType: resp.headers.get("content-type"),
    body: await resp.text(),
  };
});

// -- the alias's resource policy ---------------------------------------------------------------

const sourceArn = `arn:aws:events:${REGION}:000000000000:rule/nightly`;
const permission = {
  FunctionName: FN,
  Qualifier: "live",
  StatementId: "nightly-rule",
  Action: "lambda:InvokeFunction",
  Principal: "events.amazonaws.com",
  SourceArn: sourceArn,
};

/** AddPermission, its Statement parsed. */
async function addPermission(input) {
  const out = await send(new AddPermissionCommand(input));
  return { ...out, Statement: JSON.parse(out.Statement) };
}

/** GetPolicy on the alias, its Policy parsed. */
async function getPolicy() {
  const out = await send(new GetPolicyCommand({ FunctionName: FN, Qualifier: "live" }));
  return { ...out, Policy: JSON.parse(out.Policy) };
}

await step("add_permission", () => addPermission(permission));
await step("get_policy", getPolicy);
const policyRevision = steps.get_policy.RevisionId;

await step("add_permission_duplicate", () => expectError(new AddPermissionCommand(permission)));
// The revision GetPolicy answered is current: a statement added under it is accepted, and that
// makes it stale for the next one.
await step("add_permission_current_revision", () =>
  addPermission({
    ...permission,
    StatementId: "with-revision",
    SourceArn: `${sourceArn}-2`,
    RevisionId: policyRevision,
  }),
);
await step("add_permission_stale_revision", () =>
  expectError(
    new AddPermissionCommand({
      ...permission,
      StatementId: "stale-revision",
      RevisionId: policyRevision,
    }),
  ),
);
await step("get_policy_two_statements", getPolicy);
await step("remove_permission", () =>
  send(
    new RemovePermissionCommand({
      FunctionName: FN,
      Qualifier: "live",
      StatementId: "with-revision",
    }),
  ),
);
await step("get_policy_after_remove", getPolicy);

// -- event-invoke config ---------------------------------------------------------------------

await step("put_function_event_invoke_config", () =>
  send(
    new PutFunctionEventInvokeConfigCommand({
      FunctionName: FN,
      MaximumRetryAttempts: 1,
      MaximumEventAgeInSeconds: 120,
    }),
  ),
);
await step("get_function_event_invoke_config", () =>
  send(new GetFunctionEventInvokeConfigCommand({ FunctionName: FN })),
);

// -- provisioned concurrency on version 2 ------------------------------------------------------

await step("put_provisioned_concurrency_config", () =>
  send(
    new PutProvisionedConcurrencyConfigCommand({
      FunctionName: FN,
      Qualifier: version2,
      ProvisionedConcurrentExecutions: 1,
    }),
  ),
);
await step("get_provisioned_concurrency_config", async () => {
  const deadline = Date.now() + PROVISIONED_WAIT_S * 1000;
  let polls = 0;
  for (;;) {
    const out = await send(
      new GetProvisionedConcurrencyConfigCommand({ FunctionName: FN, Qualifier: version2 }),
    );
    polls += 1;
    if (out.Status !== "IN_PROGRESS" || Date.now() > deadline) return { ...out, polls };
    await sleep(200);
  }
});

// -- invocations -------------------------------------------------------------------------------

/** Invoke synchronously with {"name":"js"}; the payload decoded (and parsed when it is JSON),
 * and the log tail decoded when one was asked for. */
async function invoke(extra) {
  const out = await send(
    new InvokeCommand({
      FunctionName: FN,
      InvocationType: "RequestResponse",
      Payload: new TextEncoder().encode(JSON.stringify({ name: "js" })),
      ...extra,
    }),
  );
  const text = decoder.decode(out.Payload);
  let payload;
  try {
    payload = JSON.parse(text);
  } catch {
    payload = text;
  }
  const log = out.LogResult ? Buffer.from(out.LogResult, "base64").toString("utf8") : null;
  return { ...out, Payload: payload, LogResult: log };
}

await step("invoke_latest", () => invoke({ LogType: "Tail" }));
await step("invoke_version", () => invoke({ Qualifier: version2 }));

// -- configurations lambkin answers with their defaults ------------------------------------------

await step("get_function_code_signing_config", () =>
  send(new GetFunctionCodeSigningConfigCommand({ FunctionName: FN })),
);
await step("get_function_recursion_config", () =>
  send(new GetFunctionRecursionConfigCommand({ FunctionName: FN })),
);
await step("list_event_source_mappings", () =>
  send(new ListEventSourceMappingsCommand({ FunctionName: FN })),
);

// -- errors ----------------------------------------------------------------------------------

await step("get_missing_function", () =>
  expectError(new GetFunctionCommand({ FunctionName: `${FN}-missing` })),
);

// -- everything deleted ------------------------------------------------------------------------

await step("delete_function_url_config", () =>
  send(new DeleteFunctionUrlConfigCommand({ FunctionName: FN, Qualifier: "live" })),
);
await step("fetch_deleted_function_url", async () => {
  const resp = await fetch(functionUrl, { signal: AbortSignal.timeout(WAIT_S * 1000) });
  return { status: resp.status, body: await resp.text() };
});
await step("delete_provisioned_concurrency_config", () =>
  send(new DeleteProvisionedConcurrencyConfigCommand({ FunctionName: FN, Qualifier: version2 })),
);
await step("delete_alias", () => send(new DeleteAliasCommand({ FunctionName: FN, Name: "live" })));
await step("delete_function", () => send(new DeleteFunctionCommand({ FunctionName: FN })));
await step("delete_layer_version", () =>
  send(new DeleteLayerVersionCommand({ LayerName: args.layer, VersionNumber: layerVersion })),
);
await step("get_deleted_function", () => expectError(new GetFunctionCommand({ FunctionName: FN })));
await step("get_deleted_layer_version", () =>
  expectError(new GetLayerVersionCommand({ LayerName: args.layer, VersionNumber: layerVersion })),
);

process.stdout.write(JSON.stringify({ steps }) + "\n");
