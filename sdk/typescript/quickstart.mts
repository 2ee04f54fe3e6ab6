// The README quick start, through TypeScript types generated from openapi/openapi.json.
//
// `make sdk-typescript` generates schema.d.ts beside this file with openapi-typescript,
// compiles both with tsc (strict) and runs the result against a live server, with
// openapi-fetch as the HTTP client. Set FOLLOWUP_BASE_URL and FOLLOWUP_ADMIN_TOKEN to run
// it yourself.
import createClient from "openapi-fetch";
import type { components, paths } from "./schema.js";

type Schemas = components["schemas"];

// The one Node.js global used here, declared rather than pulling in @types/node.
declare const process: { env: Record<string, string | undefined> };

const baseUrl = required("FOLLOWUP_BASE_URL");
const adminToken = required("FOLLOWUP_ADMIN_TOKEN");

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

function check(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

function step(text: string): void {
  console.log(`- ${text}`);
}

function isPolicyViolation(problem: unknown): problem is Schemas["PolicyViolationProblem"] {
  return (
    typeof problem === "object" &&
    problem !== null &&
    (problem as { type?: unknown }).type === "/problems/policy-violation"
  );
}

async function main(): Promise<void> {
  // 1. An operator creates an account; its first API key is shown only once.
  const admin = createClient<paths>({ baseUrl, headers: { Authorization: `Bearer ${adminToken}` } });
  const account = await admin.POST("/admin/accounts", { body: { name: "Acme Careers" } });
  check(account.response.status === 201 && account.data !== undefined, "create account");
  const api = createClient<paths>({
    baseUrl,
    headers: { Authorization: `Bearer ${account.data.api_key}` },
  });
  step(`account ${account.data.account_id}`);

  // 2. A candidate; the 201 says where it lives.
  const candidate = await api.POST("/v1/candidates", {
    body: { name: "Jordan Smith", email: "jordan@example.com", timezone: "Europe/London" },
  });
  check(candidate.data !== undefined, "create candidate");
  const location = candidate.response.headers.get("location");
  check(location === `/v1/candidates/${candidate.data.id}`, "Location of the candidate");
  step(`candidate ${candidate.data.id} at ${location}`);

  // 3. An interview that ended two days ago, and the recruiter who ran it.
  const startsAt = new Date(Date.now() - 2 * 24 * 3600 * 1000).toISOString();
  const interview = await api.POST("/v1/interviews", {
    body: {
      candidate_id: candidate.data.id,
      company: "Northwind Traders",
      role_title: "Data Analyst",
      starts_at: startsAt,
    },
  });
  check(interview.data !== undefined, "create interview");
  const interviewId = { path: { interview_id: interview.data.id } };
  const recruiter = await api.POST("/v1/interviews/{interview_id}/contacts", {
    params: interviewId,
    body: { name: "Catherine Diaz", role: "recruiter" },
  });
  check(recruiter.data !== undefined, "create contact");
  step(`interview ${interview.data.id} with ${interview.data.windows.length} windows`);

  // 4. Is a LinkedIn connection request to the recruiter a good idea? Ask first.
  const connect: Schemas["AttemptCreate"] = {
    channel: "social_connection",
    platform: "linkedin",
    contact_id: recruiter.data.id,
  };
  const evaluation = await api.POST("/v1/interviews/{interview_id}/contact-attempts/evaluate", {
    params: interviewId,
    body: connect,
  });
  check(evaluation.data?.verdict === "rejected", "evaluation is rejected");
  step(`evaluate a LinkedIn request: ${evaluation.data.verdict}`);

  // 5. Record the thank-you email, safe to retry with an Idempotency-Key.
  const thankYou: Schemas["AttemptCreate"] = {
    channel: "email",
    contact_id: recruiter.data.id,
    purpose: "thank_you",
    subject: "Thank you",
    body:
      "Dear Catherine,\n\nThank you for your time yesterday. I enjoyed learning about " +
      "the team.\n\nBest regards,\nJordan",
  };
  const once = { path: interviewId.path, header: { "Idempotency-Key": "thank-you-jordan" } };
  const first = await api.POST("/v1/interviews/{interview_id}/contact-attempts", {
    params: once,
    body: thankYou,
  });
  const again = await api.POST("/v1/interviews/{interview_id}/contact-attempts", {
    params: once,
    body: thankYou,
  });
  check(first.data !== undefined && again.data?.id === first.data.id, "one attempt stored");
  check(again.response.headers.get("idempotent-replayed") === "true", "replayed");
  step(`thank-you email ${first.data.id}: ${first.data.verdict}, replayed once`);

  // 6. Recording the connection request anyway is refused; the findings say why.
  const refused = await api.POST("/v1/interviews/{interview_id}/contact-attempts", {
    params: interviewId,
    body: connect,
  });
  check(refused.response.status === 422 && isPolicyViolation(refused.error), "refused");
  const blocking = refused.error.findings.filter((f) => f.severity === "block");
  check(blocking.length === 1 && blocking[0]?.rule === "no-social-connection", "blocked");
  step(`refused by ${blocking[0].rule}: ${blocking[0].advice}`);

  // 7. The interview's follow-up windows.
  const windows = await api.GET("/v1/interviews/{interview_id}/windows", { params: interviewId });
  check(windows.data !== undefined, "list windows");
  const kinds = windows.data.data.map((w: Schemas["WindowRead"]) => w.kind).sort();
  check(kinds.join() === "brief_referees,check_in,thank_you", "three windows");
  step(`windows: ${windows.data.data.map((w) => `${w.kind} ${w.state}`).join(", ")}`);

  // 8. A webhook endpoint (a local URL: the server runs with private URLs allowed).
  const endpoint = await api.POST("/v1/webhook-endpoints", {
    body: { url: "http://127.0.0.1:9/followup" },
  });
  check(endpoint.data?.secret.startsWith("whsec_") === true, "endpoint secret");
  step(`webhook endpoint ${endpoint.data.id}, secret shown once`);

  // 9. Sync: what was created since the candidate.
  const since = await api.GET("/v1/candidates", {
    params: { query: { created_after: candidate.data.created_at } },
  });
  check(since.data?.data.length === 0, "nothing created since");
  step("nothing created since the candidate");
  console.log("quick start passed");
}

await main();
