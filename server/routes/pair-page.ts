import type { FastifyInstance } from 'fastify';

/**
 * The `verificationUri` of POST /v1/pair/start. Until the web app serves a real
 * approving screen here, this page says how to approve a code, so the link is not dead.
 */
const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Pair a device — hearth</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:2rem auto;padding:0 1rem}code{background:#eee;padding:0 .3em}</style>
</head><body>
<h1>Pair a device</h1>
<p>The new device shows a code like <code>BCDF-GHJK</code>. A family member who is already signed in approves it:</p>
<ul>
<li>from a signed-in app: check the device name with <code>POST /v1/pair/inspect</code> <code>{"userCode"}</code>, then approve with <code>POST /v1/pair/approve</code> <code>{"userCode"}</code>;</li>
<li>or, on the server, the administrator runs <code>hearth device approve &lt;code&gt; --member &lt;memberId&gt;</code>.</li>
</ul>
<p>Check that the device name shown matches the device in your hand before you approve. Codes expire after 10 minutes.</p>
</body></html>
`;

export async function pairPageRoutes(app: FastifyInstance): Promise<void> {
  app.get('/pair', { schema: { hide: true } }, async (_request, reply) =>
    reply.type('text/html; charset=utf-8').header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'").send(PAGE),
  );
}
