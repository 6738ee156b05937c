// The original tutorial's client code, run with the real @directus/sdk
// (pinned in e2e/package.json) against a freshly started Quire: register,
// login, readMe with withToken, createItem, readItems with user_created.*,
// readItem, updateItem (own, then someone else's), deleteItem, refresh with
// autoRefresh, logout. Run by scripts/sdk-test.sh with Node's test runner.
//
// QUIRE_BIN: the binary to start (on a free port, with a temporary SQLite
// database and a 32 s access-token TTL, so the SDK's autoRefresh timer,
// which fires 30 s before expiry, refreshes after 2 s).
// QUIRE_URL: test an already running Quire instead.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  authentication,
  createDirectus,
  createItem,
  createUser,
  deleteItem,
  readItem,
  readItems,
  readMe,
  readRoles,
  rest,
  updateItem,
  withToken,
} from '@directus/sdk';

const TTL_SECONDS = 32;
let baseURL = process.env.QUIRE_URL ?? '';
let server;
let tmp;
let serverLog = '';

function dumpLog() {
  if (serverLog) console.error('--- quire log ---\n' + serverLog + '--- end of quire log ---');
}

// step is test() that prints the server's log when the step fails.
function step(name, fn) {
  test(name, { timeout: 30_000 }, async (t) => {
    try {
      await fn(t);
    } catch (err) {
      dumpLog();
      throw err;
    }
  });
}

async function startQuire() {
  const bin = process.env.QUIRE_BIN;
  assert.ok(bin, 'set QUIRE_BIN to a quire binary, or QUIRE_URL to a running Quire (scripts/sdk-test.sh does this)');
  tmp = mkdtempSync(join(tmpdir(), 'quire-sdk-'));
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('QUIRE_')));
  server = spawn(bin, ['serve', '--addr', '127.0.0.1:0', '--db', join(tmp, 'quire.db'),
    '--access-token-ttl', `${TTL_SECONDS}s`, '--register-limit', '100'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  server.stderr.setEncoding('utf8');
  const addr = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('quire did not start within 20 s')), 20_000);
    server.on('exit', (code) => reject(new Error(`quire exited with ${code}`)));
    server.stderr.on('data', (chunk) => {
      serverLog += chunk;
      const m = serverLog.match(/quire listening.* addr=(\S+)/);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
  });
  baseURL = `http://${addr}`;
  const res = await fetch(`${baseURL}/healthz`);
  assert.equal(res.status, 200, 'healthz');
}

before(async () => {
  try {
    if (!baseURL) await startQuire();
  } catch (err) {
    dumpLog();
    throw err;
  }
});

after(async () => {
  state.client?.stopRefreshing();
  if (server && server.exitCode === null) {
    const exited = new Promise((resolve) => server.once('exit', resolve));
    server.kill('SIGTERM');
    await exited;
  }
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

// The tutorial's src/lib/directus.js, unchanged.
const directus = () =>
  createDirectus(baseURL)
    .with(authentication('cookie', { credentials: 'include', autoRefresh: true }))
    .with(rest({ credentials: 'include' }));

// The tutorial's directusLogin (src/lib/auth.js) without Next's cookies().
async function directusLogin(credentials) {
  const res = await fetch(`${baseURL}/auth/login`, {
    method: 'POST',
    body: JSON.stringify(credentials),
    headers: { 'Content-Type': 'application/json' },
  });
  const user = await res.json();
  if (!res.ok && user) {
    throw new Error('Wrong credentials!');
  }
  return user;
}

// The tutorial's register action: createUser with role = USER_ROLE.
async function register(USER_ROLE, { first_name, last_name, email, password }) {
  try {
    await directus().request(createUser({ first_name, last_name, email, password, role: USER_ROLE }));
    return { message: 'Account Created!', status: 201 };
  } catch (e) {
    const code = e.errors[0].extensions.code;
    if (code === 'RECORD_NOT_UNIQUE') {
      return { message: 'This user already exist', status: 409 };
    }
    return { message: 'An unexpected error occurred, please try again', status: 500, error: e };
  }
}

const getAuthUser = (token) =>
  directus().request(withToken(token.data.access_token, readMe({ fields: ['*'] })));

const postFields = ['title', 'id', 'content', 'date_created', 'user_created.*'];

const run = `${Date.now()}`;
const ann = { first_name: 'Ann', last_name: 'Author', email: `ann.${run}@example.com`, password: 'tutorial pass 1' };
const bob = { first_name: 'Bob', last_name: 'Other', email: `bob.${run}@example.com`, password: 'tutorial pass 2' };
const state = {};

step('USER_ROLE is the public author role id', async () => {
  const roles = await directus().request(readRoles({ filter: { name: { _eq: 'author' } } }));
  assert.equal(roles.length, 1);
  assert.match(roles[0].id, /^[0-9a-f-]{36}$/);
  state.USER_ROLE = roles[0].id;
});

step('register (createUser with the author role)', async () => {
  assert.deepEqual(await register(state.USER_ROLE, ann), { message: 'Account Created!', status: 201 });
  assert.deepEqual(await register(state.USER_ROLE, bob), { message: 'Account Created!', status: 201 });
  const again = await register(state.USER_ROLE, { ...ann, email: ann.email.toUpperCase() });
  assert.equal(again.status, 409, 'a duplicate email is RECORD_NOT_UNIQUE');
});

step('login (the tutorial fetches /auth/login)', async () => {
  await assert.rejects(directusLogin({ email: ann.email, password: 'wrong password' }), /Wrong credentials!/);
  state.annToken = await directusLogin({ email: ann.email, password: ann.password });
  if (server) assert.equal(state.annToken.data.expires, TTL_SECONDS * 1000);
  assert.ok(state.annToken.data.access_token && state.annToken.data.refresh_token);
  state.bobToken = await directusLogin({ email: bob.email, password: bob.password });
});

step('readMe with withToken (getAuthUser)', async () => {
  const me = await getAuthUser(state.annToken);
  assert.equal(me.email, ann.email);
  assert.equal(me.first_name, 'Ann');
  assert.equal(me.role, state.USER_ROLE);
  assert.equal(me.password, undefined);
  state.annID = me.id;
  state.bobID = (await getAuthUser(state.bobToken)).id;
});

step('createItem (addPost, with its forged user_created and extra user_role)', async () => {
  const result = await directus().request(
    withToken(
      state.annToken.data.access_token,
      createItem('posts', {
        title: 'Hello from the SDK',
        content: 'Some **Markdown**',
        user_created: state.bobID,
        user_role: state.USER_ROLE,
      }),
    ),
  );
  assert.ok(result.id);
  assert.equal(result.user_created, state.annID, 'the owner comes from the token, not the body');
  assert.equal(result.content, 'Some **Markdown**');
  assert.match(result.content_html, /<strong>Markdown<\/strong>/);
  state.postID = result.id;
  const bobs = await directus().request(
    withToken(state.bobToken.data.access_token, createItem('posts', { title: "Bob's post", content: 'mine' })),
  );
  state.bobPostID = bobs.id;
});

step('readItems with user_created.* (getPosts, as the public)', async () => {
  const posts = await directus().request(readItems('posts', { fields: postFields }));
  const mine = posts.find((p) => p.id === state.postID);
  assert.ok(mine, 'the new post is listed');
  assert.equal(mine.title, 'Hello from the SDK');
  assert.equal(typeof mine.date_created, 'string');
  assert.equal(`${mine.user_created?.first_name} ${mine.user_created?.last_name}`, 'Ann Author');
  const other = posts.find((p) => p.id === state.bobPostID);
  assert.equal(other.user_created.first_name, 'Bob', "other authors' public fields are readable");
  assert.equal(other.user_created.email, undefined, 'but never their email');
});

step('readItem (getPost)', async () => {
  const post = await directus().request(readItem('posts', state.postID, { fields: postFields }));
  assert.equal(post.title, 'Hello from the SDK');
  assert.equal(post.user_created.id, state.annID, "the page's Edit/Delete check: user.id === post.user_created.id");
  assert.ok(post.date_created.toString().slice(3, 16));
});

step('updateItem on an own post (updatePost)', async () => {
  const result = await directus().request(
    withToken(
      state.annToken.data.access_token,
      updateItem('posts', state.postID, { title: 'Edited title', user_updated: state.annID, content: 'Edited *text*' }),
    ),
  );
  assert.equal(result.id, state.postID);
  assert.equal(result.title, 'Edited title');
  assert.equal(result.user_updated, state.annID);
  assert.ok(result.date_updated);
});

step("updateItem on someone else's post is rejected", async () => {
  await assert.rejects(
    directus().request(
      withToken(state.bobToken.data.access_token, updateItem('posts', state.postID, { title: 'Hijacked', user_updated: state.bobID })),
    ),
    (err) => {
      assert.equal(err.response.status, 403);
      assert.equal(err.errors[0].extensions.code, 'FORBIDDEN');
      return true;
    },
  );
  const post = await directus().request(readItem('posts', state.postID, { fields: ['title'] }));
  assert.equal(post.title, 'Edited title', 'the row is unchanged');
});

step('deleteItem on an own post (deletePost)', async () => {
  await assert.rejects(
    directus().request(withToken(state.annToken.data.access_token, deleteItem('posts', state.bobPostID))),
    (err) => err.response.status === 403 && err.errors[0].extensions.code === 'FORBIDDEN',
  );
  await directus().request(withToken(state.annToken.data.access_token, deleteItem('posts', state.postID)));
  await assert.rejects(directus().request(readItem('posts', state.postID)), (err) => {
    assert.equal(err.response.status, 404);
    return true;
  });
});

step('refresh with autoRefresh (json mode)', async () => {
  const seen = [];
  let stored = null;
  const storage = {
    get: async () => stored,
    set: async (v) => {
      stored = v;
      if (v?.refresh_token) seen.push(v);
    },
  };
  const client = createDirectus(baseURL)
    .with(authentication('json', { autoRefresh: true, storage }))
    .with(rest());
  const login = await client.login(ann.email, ann.password);
  state.client = client;
  state.current = () => stored;
  if (server) assert.equal(login.expires, TTL_SECONDS * 1000);
  if (login.expires > 60_000) {
    await client.refresh(); // a long-TTL server given by QUIRE_URL: refresh by hand
  } else {
    // The SDK refreshes msRefreshBeforeExpires (30 s) before expiry.
    const deadline = Date.now() + 10_000;
    while (seen.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(seen.length >= 2, 'the SDK refreshed on its own');
  assert.notEqual(seen[1].refresh_token, seen[0].refresh_token, 'the refresh token rotated');
  const me = await client.request(readMe({ fields: ['id', 'email'] }));
  assert.equal(me.email, ann.email);
  // A replay of the first, rotated token outside the grace window would
  // revoke the whole login: the Go tests cover that.
});

step('logout', async () => {
  const client = state.client;
  const { access_token, refresh_token } = state.current();
  await client.logout();
  // Quire ends the login at once: its refresh and access tokens stop working.
  await assert.rejects(
    createDirectus(baseURL).with(rest()).request(withToken(access_token, readMe())),
    (err) => err.response.status === 401,
  );
  const res = await fetch(`${baseURL}/auth/refresh`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ refresh_token, mode: 'json' }),
  });
  assert.equal(res.status, 401);
  // The tutorial's handleLogout only drops its cookies; other logins live on.
  assert.equal((await getAuthUser(state.bobToken)).id, state.bobID);
});
