import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { manifestSchema, outputFrameRate, resolveGenerationRequest } from '@magicvideo/shared';
import {
  type DistributedStack,
  REPO_ROOT,
  STACK_DEV_API_KEY,
  startDistributedStack,
  startWebhookReceiver,
  type WebhookReceiver,
} from '@magicvideo/shared/testing';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from './browser';
import { recordShownStages, type ShownStage } from './stage-recorder';

/**
 * The issue's "done when", in a real browser: Debian's Chromium, headless, drives the page the API
 * serves at `/`, against the API and the four stage workers as OS processes on the tiny model
 * folder. The page is built first (vite build), so the test always runs the current sources.
 * Screenshots go to test-results/playground/.
 */

const MODELS_DIR = 'assets/models/magicvideo-shapes';
const SCREENSHOTS = path.join(REPO_ROOT, 'test-results/playground');
/** A phone's viewport: the page must work at this width. */
const PHONE = { width: 390, height: 844 };
const STAGES = ['keyframe', 'interp', 'decode', 'sr'];
/** The request the first video makes through the form (steps kept small, as in the distributed e2e test). */
const FAST_FORM = { prompt: 'a red circle moving right', seed: '7', steps: '3', interpSteps: '2', srSteps: '2' };

const WEBHOOK_SECRET = `whsec_${randomBytes(32).toString('base64')}`;

const ffmpegPath = (createRequire(import.meta.url)('@ffmpeg-installer/ffmpeg') as { path: string }).path;

function run(command: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${command} ${args.join(' ')} exited ${code}: ${stderr}`))));
  });
}

/** Frames in a video file, decoded by ffmpeg (its `frame=` count of a null output). */
function countFrames(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(ffmpegPath, ['-v', 'error', '-stats', '-i', url, '-f', 'null', '-']);
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      const frames = [...stderr.matchAll(/frame=\s*(\d+)/g)].at(-1)?.[1];
      if (code === 0 && frames !== undefined) resolve(Number(frames));
      else reject(new Error(`ffmpeg exited ${code}: ${stderr}`));
    });
  });
}

describe('the web playground in a browser', () => {
  let stack: DistributedStack;
  let receiver: WebhookReceiver;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let succeededId = '';
  let cancelledId = '';
  /** a video submitted through the API to keep the key-frame worker busy */
  let blockerId = '';

  /** Phone width: nothing on the page is wider than the screen. */
  const expectFitsPhone = async () => expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(PHONE.width);
  const screenshot = (name: string) => page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
  const videoIdOfHash = (hash: string) => decodeURIComponent(/^#\/videos\/(.+)$/.exec(hash)?.[1] ?? '');

  async function useKey(key: string): Promise<void> {
    await page.getByLabel('API key').fill(key);
    await page.getByRole('button', { name: 'Use this key' }).click();
  }

  async function submitFromForm(fields: Partial<typeof FAST_FORM> & { webhookUrl?: string }): Promise<string> {
    await page.goto(`${stack.apiUrl}/#/`);
    await page.getByLabel('Prompt', { exact: true }).fill(fields.prompt ?? '');
    if (fields.seed !== undefined) await page.getByLabel('Seed').fill(fields.seed);
    if (fields.steps !== undefined) await page.getByLabel('Steps', { exact: true }).fill(fields.steps);
    if (fields.interpSteps !== undefined) await page.getByLabel('Interpolation steps').fill(fields.interpSteps);
    if (fields.srSteps !== undefined) await page.getByLabel('Super-resolution steps').fill(fields.srSteps);
    if (fields.webhookUrl !== undefined) await page.getByLabel('Webhook URL').fill(fields.webhookUrl);
    await page.getByRole('button', { name: 'Generate video' }).click();
    await page.waitForURL(/#\/videos\/.+/);
    return videoIdOfHash(new URL(page.url()).hash);
  }

  beforeAll(async () => {
    await mkdir(SCREENSHOTS, { recursive: true });
    await run(process.execPath, [path.join(REPO_ROOT, 'node_modules/vite/bin/vite.js'), 'build', '--config', 'apps/playground/vite.config.ts', '--logLevel', 'warn']);
    browser = await launchChromium();
    receiver = await startWebhookReceiver(WEBHOOK_SECRET);
    stack = await startDistributedStack({
      modelsDir: MODELS_DIR,
      env: {
        ORT_INTRA_OP_THREADS: '1',
        LOG_LEVEL: 'warn',
        // the history test adds a page's worth of videos at once: more than the default burst of POSTs
        RATE_LIMIT_BURST: '30',
        WEBHOOK_SECRETS: `dev=${WEBHOOK_SECRET}`,
      },
    });
    context = await browser.newContext({ viewport: PHONE });
    await context.addInitScript(recordShownStages);
    page = await context.newPage();
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
    await receiver?.stop();
  }, 60_000);

  it('serves the page and its assets without a key, while /v1 still needs one', async () => {
    const index = await fetch(`${stack.apiUrl}/`);
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toMatch(/^text\/html/);
    expect(index.headers.get('content-security-policy')).toContain("connect-src 'self'");
    const html = await index.text();
    const assets = [...html.matchAll(/(?:src|href)="\.\/(assets\/[^"]+)"/g)].map((match) => match[1]);
    expect(assets.length).toBeGreaterThanOrEqual(2);
    for (const asset of assets) expect((await fetch(`${stack.apiUrl}/${asset}`)).status).toBe(200);
    expect((await fetch(`${stack.apiUrl}/v1/videos`)).status).toBe(401);
    const missing = await fetch(`${stack.apiUrl}/assets/not-built.js`);
    expect(missing.status).toBe(404);
  });

  it('tells a wrong API key clearly, on the key form', async () => {
    await page.goto(`${stack.apiUrl}/`);
    await useKey('not-the-key');
    const alert = page.getByRole('alert');
    await alert.waitFor();
    expect(await alert.textContent()).toMatch(/This API key was refused\..*Unauthenticated/);
    expect(await page.getByLabel('API key').getAttribute('aria-invalid')).toBe('true');
    await screenshot('01-wrong-key');
  });

  it('submits a prompt, shows every stage progressing and the preview, then plays a video of frame count ÷ output fps seconds', async () => {
    await useKey(STACK_DEV_API_KEY);
    await page.getByRole('heading', { name: 'New video' }).waitFor();
    // keyboard: Tab walks the form in its visual order, every control reachable
    await page.getByLabel('Prompt', { exact: true }).focus();
    const focusOrder: string[] = [];
    for (let index = 0; index < 15; index++) {
      await page.keyboard.press('Tab');
      focusOrder.push(await page.evaluate(() => {
        const element = document.activeElement as HTMLInputElement | null;
        return element?.id || `${element?.name ?? ''}${element?.value ? `=${element.value}` : ''}` || (element?.textContent ?? '');
      }));
    }
    expect(focusOrder).toEqual([
      'negative-prompt', 'seed', 'steps', 'guidanceScale', 'fps', 'sampler', 'interpolate=on', 'super-resolution=on',
      'interpSteps', 'srSteps', 'format=mp4', 'format=webm', 'format=gif', 'webhook-url', 'Generate video',
    ]);
    await page.getByLabel('WEBM').check();
    await expectFitsPhone();
    await screenshot('02-form');
    succeededId = await submitFromForm({ ...FAST_FORM, webhookUrl: receiver.url });
    await page.locator('[data-stage="keyframe"][data-state="running"], [data-stage="keyframe"][data-state="completed"]').waitFor();
    await screenshot('03-running');
    await page.locator('[data-status="succeeded"]').waitFor({ timeout: 400_000 });

    const shown = (await page.evaluate(() => window.shownStages ?? [])) as ShownStage[];
    for (const stage of STAGES) {
      const ofStage = shown.filter((entry) => entry.stage === stage);
      // shown running with a step count, then completed with every step done
      expect(ofStage.some((entry) => entry.state === 'running' && entry.totalSteps > 0), `${stage}: ${JSON.stringify(ofStage)}`).toBe(true);
      expect(ofStage.at(-1)).toMatchObject({ state: 'completed' });
      expect(ofStage.at(-1)!.step).toBe(ofStage.at(-1)!.totalSteps);
    }
    // per-step progress: the key frames' steps were shown one by one, not only the end
    const keyframeSteps = new Set(shown.filter((entry) => entry.stage === 'keyframe' && entry.state === 'running').map((entry) => entry.step));
    expect(keyframeSteps.size, JSON.stringify([...keyframeSteps])).toBeGreaterThanOrEqual(2);
    // the stages were shown in the flow's order
    const firstRunning = STAGES.map((stage) => shown.findIndex((entry) => entry.stage === stage && entry.state === 'running'));
    expect([...firstRunning].sort((a, b) => a - b)).toEqual(firstRunning);
    // the preview was on the page before the video had finished
    expect(shown.some((entry) => entry.preview && entry.status === 'running')).toBe(true);
    const previewWidth = await page.locator('figure.preview img').evaluate((image: HTMLImageElement) => (image.complete ? image.naturalWidth : 0));
    expect(previewWidth).toBeGreaterThan(0);

    const video = page.locator('video.result-video');
    await video.evaluate((element: HTMLVideoElement) =>
      element.readyState >= 1 ? undefined : new Promise((resolve, reject) => {
        element.addEventListener('loadedmetadata', resolve, { once: true });
        element.addEventListener('error', () => reject(new Error('the video did not load')), { once: true });
      }),
    );
    const duration = await video.evaluate((element: HTMLVideoElement) => element.duration);
    const mp4 = await page.locator('a[data-format="mp4"]').getAttribute('href');
    expect(await page.locator('a[data-format="webm"]').count()).toBe(1);
    const manifest = manifestSchema.parse(JSON.parse(await readFile(path.join(REPO_ROOT, MODELS_DIR, 'model_index.json'), 'utf8')));
    const fps = outputFrameRate(resolveGenerationRequest({ prompt: FAST_FORM.prompt, seed: 7 }, manifest), manifest);
    const frames = await countFrames(mp4!);
    // interpolation puts interp_factor - 1 new frames between each neighbouring pair of key frames
    expect(frames).toBe((manifest.frames - 1) * manifest.interp_factor + 1);
    expect(duration).toBeCloseTo(frames / fps, 2);
    expect(await page.locator('[data-parameter="Seed"]').textContent()).toBe('7');
    expect(await page.locator('pre.curl').textContent()).toContain('"seed":7');

    // the webhook deliveries, as the API lists them: the last one comes a moment after the video ends
    const delivered = page.locator('.deliveries li[data-type="video.succeeded"][data-outcome="success"]');
    for (let tries = 0; (await delivered.count()) === 0; tries++) {
      expect(tries, 'video.succeeded never shown as delivered').toBeLessThan(60);
      await page.waitForTimeout(500);
      await page.getByRole('button', { name: 'Refresh deliveries' }).click();
    }
    const shownTypes = await page.locator('.deliveries li[data-outcome="success"]').evaluateAll((items) => items.map((item) => item.getAttribute('data-type')));
    const receivedTypes = new Set(receiver.accepted().map((webhook) => webhook.verified?.type));
    for (const type of ['video.queued', 'video.started', 'video.succeeded']) expect(shownTypes).toContain(type);
    for (const type of shownTypes) expect(receivedTypes.has(type ?? ''), `${type} shown as delivered but not received`).toBe(true);
    await expectFitsPhone();
    await screenshot('04-succeeded');
  }, 480_000);

  it('shows a waiting video\'s place in the queue, then cancels it from its page once it runs', async () => {
    // the one key-frame worker is kept busy, so the page's video waits first in its queue
    blockerId = await submitThroughApi({ prompt: 'a blue square moving up', num_inference_steps: 200 });
    for (let tries = 0; (await statusThroughApi(blockerId)) !== 'running'; tries++) {
      expect(tries, 'the blocking video never started').toBeLessThan(600);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    cancelledId = await submitFromForm({ prompt: 'a green triangle moving left', steps: '60' });
    await page.locator('[data-status="queued"]').waitFor();
    const queueLine = page.locator('[data-queue-position="1"]');
    await queueLine.waitFor();
    expect(await queueLine.textContent()).toContain('Position 1 in the keyframe queue');
    await screenshot('05-queued');

    await cancelThroughApi(blockerId);
    await page.locator('[data-stage="keyframe"][data-state="running"]:not([data-step="0"])').waitFor({ timeout: 120_000 });
    expect(await queueLine.count()).toBe(0);
    await page.getByRole('button', { name: 'Cancel video' }).click();
    await page.locator('[data-status="cancelled"]').waitFor();
    expect(await page.locator('[data-stage="keyframe"]').getAttribute('data-state')).toBe('cancelled');
    expect(await page.getByRole('button', { name: 'Cancel video' }).count()).toBe(0);
    await screenshot('06-cancelled');
  }, 180_000);

  const authorization = () => ({ Authorization: stack.authorization });

  async function submitThroughApi(body: Record<string, unknown>): Promise<string> {
    const response = await fetch(`${stack.apiUrl}/v1/videos`, {
      method: 'POST',
      headers: { ...authorization(), 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(response.status).toBe(202);
    return ((await response.json()) as { id: string }).id;
  }

  async function cancelThroughApi(id: string): Promise<void> {
    expect((await fetch(`${stack.apiUrl}/v1/videos/${id}`, { method: 'DELETE', headers: authorization() })).status).toBe(202);
  }

  async function statusThroughApi(id: string): Promise<string> {
    const response = await fetch(`${stack.apiUrl}/v1/videos/${id}`, { headers: authorization() });
    return ((await response.json()) as { status: string }).status;
  }

  /** Adds `count` videos through the API and cancels each at once: history entries that cost no generation. Newest first. */
  async function addCancelledVideos(count: number): Promise<string[]> {
    const ids: string[] = [];
    for (let index = 0; index < count; index++) {
      const id = await submitThroughApi({ prompt: `filler ${index}`, num_inference_steps: 60 });
      await cancelThroughApi(id);
      ids.push(id);
    }
    return ids.reverse();
  }

  const shownIds = () => page.locator('.history-list li').evaluateAll((items) => items.map((item) => item.getAttribute('data-video-id')));

  it('lists the videos in the history, newest first, a page at a time, filters by status, and reopens a video', async () => {
    await page.getByRole('link', { name: 'History' }).click();
    await page.locator('.history-list li').first().waitFor();
    expect(await shownIds()).toEqual([cancelledId, blockerId, succeededId]);
    await expectFitsPhone();
    await screenshot('07-history');

    // twelve videos: the page of ten ends with the one cancelled on its page, the next page holds the two before it
    const newer = await addCancelledVideos(9);
    await page.getByRole('button', { name: 'Refresh' }).click();
    await page.locator(`.history-list li[data-video-id="${newer[0]}"]`).waitFor();
    expect(await shownIds()).toEqual([...newer, cancelledId]);
    await page.getByRole('button', { name: 'Older' }).click();
    await page.locator(`.history-list li[data-video-id="${succeededId}"]`).waitFor();
    expect(await shownIds()).toEqual([blockerId, succeededId]);
    expect(await page.getByRole('button', { name: 'Older' }).isDisabled()).toBe(true);
    await page.getByRole('button', { name: 'Newer' }).click();
    await page.locator(`.history-list li[data-video-id="${cancelledId}"]`).waitFor();
    expect(await shownIds()).toEqual([...newer, cancelledId]);

    await page.getByLabel('Status').selectOption('succeeded');
    await page.locator(`.history-list li[data-video-id="${succeededId}"]`).waitFor();
    expect(await shownIds()).toEqual([succeededId]);
    await page.getByLabel('Status').selectOption('cancelled');
    await page.locator(`.history-list li[data-video-id="${cancelledId}"]`).waitFor();
    expect(await page.locator('.history-list li').evaluateAll((items) => items.map((item) => item.getAttribute('data-status')))).toEqual(Array(10).fill('cancelled'));
    await screenshot('08-history-cancelled');

    await page.getByLabel('Status').selectOption('succeeded');
    await page.getByRole('link', { name: FAST_FORM.prompt }).click();
    await page.waitForURL(new RegExp(`#/videos/${succeededId}$`));
    await page.locator('[data-status="succeeded"]').waitFor();
    // the history's own succeeded rows match that selector until the video page replaces them
    await page.locator('video.result-video').first().waitFor();
    expect(await page.locator('video.result-video').count()).toBe(1);
  }, 120_000);
});
