import { HeadObjectCommand } from '@aws-sdk/client-s3';
import {
  artifactKey,
  buildOpenApiDocument,
  createS3Client,
  errorEnvelopeSchema,
  resolvedGenerationRequestSchema,
  stageJobDataSchema,
  stageJobId,
  videoAcceptedSchema,
  videoSchema,
} from '@magicvideo/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiHarness, type ErrorBody, keyOf, postUnfinishedBody, startApi } from './api-harness';

/** A PNG signature and a few bytes: the API sniffs the type, it does not decode the image. */
const PNG = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, ...Array.from({ length: 64 }, (_, index) => index)]);
/** An MP4's first box: size, `ftyp`, major brand `isom`. */
const MP4 = Uint8Array.from([0, 0, 0, 0x18, ...Buffer.from('ftypisom'), 0, 0, 2, 0, ...Buffer.from('isomiso2')]);
const MiB = 1024 * 1024;

function multipart(request: unknown, init?: { bytes: Uint8Array; name?: string }): FormData {
  const form = new FormData();
  form.append('request', JSON.stringify(request));
  if (init !== undefined) form.append('init', new Blob([init.bytes]), init.name ?? 'init.bin');
  return form;
}

describe('POST /v1/videos and GET /v1/videos/{id}', () => {
  let api: ApiHarness;

  beforeAll(async () => {
    api = await startApi({ UPLOAD_LIMIT_BYTES: String(2 * MiB), RATE_LIMIT_BURST: '1000' });
  });

  afterAll(async () => {
    await api?.stop();
  });

  it('accepts a request with 202, its id, seed and links, and shows it queued with every stage', async () => {
    const response = await api.submit('alice', { prompt: 'a red circle moving right', seed: 1234, output_formats: ['mp4', 'webm'] });
    expect(response.status).toBe(202);
    const accepted = (await response.json()) as { id: string; status: string; seed: number; created_at: string; links: Record<string, string> };
    // every answer is what the OpenAPI document says it is
    expect(videoAcceptedSchema.safeParse(accepted).error).toBeUndefined();
    expect(accepted).toMatchObject({ status: 'queued', seed: 1234 });
    expect(accepted.id).toMatch(/^vid_[0-9A-Z]{26}$/);
    expect(accepted.links).toEqual({
      self: `/v1/videos/${accepted.id}`,
      events: `/v1/videos/${accepted.id}/events`,
      cancel: `/v1/videos/${accepted.id}`,
      retry: `/v1/videos/${accepted.id}/retry`,
    });
    expect(response.headers.get('location')).toBe(`/v1/videos/${accepted.id}`);

    const got = await api.call('alice', `/v1/videos/${accepted.id}`);
    expect(got.status).toBe(200);
    const video = (await got.json()) as Record<string, unknown> & { stages: Record<string, Record<string, unknown>> };
    expect(videoSchema.safeParse(video).error).toBeUndefined();
    expect(video).toMatchObject({ id: accepted.id, status: 'queued', stage: null, progress: 0, seed: 1234, result: null, error: null });
    // issue 15: its place in the key-frame queue (no worker runs here: no estimate), priority, deadline, one run
    expect(video).toMatchObject({ queue: { stage: 'keyframe', estimated_start_at: null }, priority: 0, reason: null, expires_at: null });
    expect(Date.parse(String(video.deadline_at))).toBe(Date.parse(accepted.created_at) + 86_400_000);
    expect(video.runs).toEqual([{ run: 1, from_stage: 'keyframe', queued_at: accepted.created_at, finished_at: null, status: null, reason: null, error: null }]);
    // the tiny model folder has interpolation and SR, so a request that leaves them out gets them
    expect(Object.keys(video.stages)).toEqual(['keyframe', 'interp', 'decode', 'sr']);
    expect(video.stages.keyframe).toMatchObject({ state: 'pending', progress: 0, attempts: 0, queued_at: accepted.created_at, started_at: null });
    expect(video.stages.sr).toMatchObject({ state: 'pending', queued_at: null });
    expect(video.request).toEqual({
      prompt: 'a red circle moving right',
      negative_prompt: '',
      seed: 1234,
      num_inference_steps: 25,
      guidance_scale: 7.5,
      fps: 8,
      sampler: 'ddim',
      interpolate: true,
      super_resolution: true,
      interp_num_inference_steps: 10,
      sr_num_inference_steps: 6,
      sr_noise_level: 20,
      output_formats: ['mp4', 'webm'],
    });

    const requestJson = await api.artifacts.getJson(accepted.id, 'request', resolvedGenerationRequestSchema);
    expect(requestJson).toMatchObject({ prompt: 'a red circle moving right', seed: 1234, steps: 25, formats: ['mp4', 'webm'] });

    // the flow's leaf waits in the keyframe queue; the later stages wait for their children
    const keyframeJob = await api.queues.keyframe.getJob(stageJobId(accepted.id, 'keyframe'));
    // every stage job carries the video's priority (default 0 → BullMQ 1001), so it waits in the prioritized set
    expect(await keyframeJob?.getState()).toBe('prioritized');
    expect(keyframeJob?.opts.priority).toBe(1001);
    expect(stageJobDataSchema.parse(keyframeJob?.data)).toEqual({
      videoId: accepted.id,
      stage: 'keyframe',
      params: requestJson,
      inputs: { request: artifactKey(accepted.id, 'request') },
      last: false,
    });
    expect(keyframeJob?.opts).toMatchObject({ failParentOnFailure: true, attempts: 6 });
    const srJob = await api.queues.sr.getJob(stageJobId(accepted.id, 'sr'));
    expect(await srJob?.getState()).toBe('waiting-children');
    expect(srJob?.data).toMatchObject({ stage: 'sr', last: true, inputs: { frames: artifactKey(accepted.id, 'frames') } });
  });

  it('leaves interpolation and SR out of the flow when the request does', async () => {
    const response = await api.submit('alice', { prompt: 'a blue square', interpolate: false, super_resolution: false });
    const { id } = (await response.json()) as { id: string };
    const video = (await (await api.call('alice', `/v1/videos/${id}`)).json()) as { stages: Record<string, unknown> };
    expect(Object.keys(video.stages)).toEqual(['keyframe', 'decode']);
    expect(await api.queues.interp.getJob(stageJobId(id, 'interp'))).toBeUndefined();
    const decodeJob = await api.queues.decode.getJob(stageJobId(id, 'decode'));
    expect(decodeJob?.data).toMatchObject({ last: true, inputs: { keyframes: artifactKey(id, 'keyframes') } });
  });

  it('stores an init image uploaded as multipart as init.bin with its sniffed type, as an input of the key-frame stage', async () => {
    const request = { prompt: 'a green triangle', init: { source: 'image', strength: 0.6 } };
    // the client's file name and type say text; the bytes say PNG
    const response = await api.call('alice', '/v1/videos', { method: 'POST', body: multipart(request, { bytes: PNG, name: 'notes.txt' }) });
    expect(response.status).toBe(202);
    const { id } = (await response.json()) as { id: string };
    expect(await api.artifacts.getBytes(id, 'init')).toEqual(PNG);
    const s3 = createS3Client({ ...api.services.s3, credentials: api.services.s3 });
    const head = await s3.send(new HeadObjectCommand({ Bucket: api.services.s3.bucket, Key: artifactKey(id, 'init') }));
    s3.destroy();
    expect(head.ContentType).toBe('image/png');
    const keyframeJob = await api.queues.keyframe.getJob(stageJobId(id, 'keyframe'));
    expect(keyframeJob?.data.inputs).toEqual({ request: artifactKey(id, 'request'), init: artifactKey(id, 'init') });
    expect(keyframeJob?.data.params.init).toEqual({ source: 'image', strength: 0.6 });
  });

  it('accepts a video for video editing', async () => {
    const request = { prompt: 'the same, in red', init: { source: 'video', strength: 0.4 } };
    const response = await api.call('alice', '/v1/videos', { method: 'POST', body: multipart(request, { bytes: MP4 }) });
    expect(response.status).toBe(202);
  });

  const post = (body: RequestInit['body'], contentType?: string) =>
    api.call('bob', '/v1/videos', { method: 'POST', body, ...(contentType === undefined ? {} : { headers: { 'Content-Type': contentType } }) });
  const json = (value: unknown) => post(JSON.stringify(value), 'application/json');

  const refusals: { name: string; send: () => Promise<Response>; status: number; code: string; field?: string }[] = [
    { name: 'an empty prompt', send: () => json({ prompt: '' }), status: 400, code: 'InvalidRequest', field: 'prompt' },
    { name: 'a prompt of blanks', send: () => json({ prompt: '   ' }), status: 400, code: 'InvalidRequest', field: 'prompt' },
    { name: 'no prompt', send: () => json({}), status: 400, code: 'InvalidRequest', field: 'prompt' },
    { name: 'zero steps', send: () => json({ prompt: 'x', num_inference_steps: 0 }), status: 400, code: 'InvalidRequest', field: 'num_inference_steps' },
    { name: 'a fractional seed', send: () => json({ prompt: 'x', seed: 1.5 }), status: 400, code: 'InvalidRequest', field: 'seed' },
    { name: 'an unknown field', send: () => json({ prompt: 'x', colour: 'red' }), status: 400, code: 'InvalidRequest', field: 'colour' },
    { name: 'a camelCase name', send: () => json({ prompt: 'x', guidanceScale: 3 }), status: 400, code: 'InvalidRequest', field: 'guidanceScale' },
    {
      name: 'an FPS outside the model’s trained range',
      send: () => json({ prompt: 'x', fps: 60 }),
      status: 400,
      code: 'InvalidRequest',
      field: 'fps',
    },
    { name: 'an unknown format', send: () => json({ prompt: 'x', output_formats: ['avi'] }), status: 400, code: 'InvalidRequest', field: 'output_formats.0' },
    { name: 'an ftp webhook', send: () => json({ prompt: 'x', webhook_url: 'ftp://example.com/' }), status: 400, code: 'InvalidRequest', field: 'webhook_url' },
    { name: 'a strength of 0', send: () => json({ prompt: 'x', init: { source: 'image', strength: 0 } }), status: 400, code: 'InvalidRequest', field: 'init.strength' },
    { name: 'a JSON array', send: () => json([{ prompt: 'x' }]), status: 400, code: 'InvalidRequest', field: 'request' },
    { name: 'malformed JSON', send: () => post('{"prompt": "x",', 'application/json'), status: 400, code: 'InvalidJson' },
    { name: 'an empty JSON body', send: () => post('', 'application/json'), status: 400, code: 'InvalidJson' },
    { name: 'a text body', send: () => post('a red circle', 'text/plain'), status: 415, code: 'UnsupportedMediaType' },
    { name: 'a form body', send: () => post('prompt=x', 'application/x-www-form-urlencoded'), status: 415, code: 'UnsupportedMediaType' },
    { name: 'an XML body', send: () => post('<prompt/>', 'application/xml'), status: 415, code: 'UnsupportedMediaType' },
    {
      name: 'an upload that is no image or video',
      send: () => post(multipart({ prompt: 'x', init: { source: 'image', strength: 0.5 } }, { bytes: Buffer.from('%PDF-1.7 not an image at all') })),
      status: 415,
      code: 'UnsupportedMediaType',
      field: 'init',
    },
    {
      name: 'a 50 MB upload',
      send: () => post(multipart({ prompt: 'x', init: { source: 'image', strength: 0.5 } }, { bytes: new Uint8Array(50 * MiB) })),
      status: 413,
      code: 'PayloadTooLarge',
      field: 'init',
    },
    {
      name: 'init declared without an upload',
      send: () => post(multipart({ prompt: 'x', init: { source: 'image', strength: 0.5 } })),
      status: 400,
      code: 'InvalidRequest',
      field: 'init',
    },
    { name: 'an upload without init', send: () => post(multipart({ prompt: 'x' }, { bytes: PNG })), status: 400, code: 'InvalidRequest', field: 'init' },
    {
      name: 'a video where an image is declared',
      send: () => post(multipart({ prompt: 'x', init: { source: 'image', strength: 0.5 } }, { bytes: MP4 })),
      status: 400,
      code: 'InvalidRequest',
      field: 'init.source',
    },
    {
      name: 'a multipart body without its request part',
      send: () => {
        const form = new FormData();
        form.append('init', new Blob([PNG]), 'a.png');
        return post(form);
      },
      status: 400,
      code: 'InvalidRequest',
      field: 'request',
    },
    {
      name: 'a multipart request part that is not JSON',
      send: () => {
        const form = new FormData();
        form.append('request', '{"prompt":');
        return post(form);
      },
      status: 400,
      code: 'InvalidJson',
      field: 'request',
    },
    {
      name: 'an unknown multipart part',
      send: () => {
        const form = multipart({ prompt: 'x' });
        form.append('extra', 'value');
        return post(form);
      },
      status: 400,
      code: 'InvalidRequest',
      field: 'extra',
    },
  ];

  it.each(refusals)('refuses $name with $status $code, naming the field, never a 5xx', async ({ send, status, code, field }) => {
    const response = await send();
    const body = (await response.json()) as ErrorBody;
    expect(errorEnvelopeSchema.safeParse(body).error).toBeUndefined();
    expect({ status: response.status, code: body.error.code }).toEqual({ status, code });
    expect(body.error.message.length).toBeGreaterThan(0);
    if (field !== undefined) expect(body.error.field).toBe(field);
  });

  it('refuses a 50 MB JSON body with 413 from its Content-Length, before the body is sent', async () => {
    const headers = { Authorization: `Bearer ${keyOf('bob')}`, 'Content-Type': 'application/json' };
    const answer = await postUnfinishedBody(`${api.baseUrl}/v1/videos`, headers, { declaredBytes: 50 * MiB, sentBytes: 64 * 1024 });
    expect(answer).toEqual({ status: 413, body: { error: { code: 'PayloadTooLarge', message: expect.any(String) } } });
  });

  it('refuses a chunked JSON body with 413 once it passes the limit, without reading the rest', async () => {
    const headers = { Authorization: `Bearer ${keyOf('bob')}`, 'Content-Type': 'application/json' };
    // BODY_LIMIT_BYTES is 1 MiB: one chunk past it is written of a body that never ends (and no
    // more, since a write after the server closed the connection would fail the request with EPIPE)
    const answer = await postUnfinishedBody(`${api.baseUrl}/v1/videos`, headers, { sentBytes: MiB + 64 * 1024 });
    expect(answer).toEqual({ status: 413, body: { error: { code: 'PayloadTooLarge', message: expect.any(String) } } });
  });

  it('names every problem of a request at once, with snake_case fields', async () => {
    const response = await json({ prompt: '', num_inference_steps: 0, guidance_scale: 99, bogus: true });
    expect(response.status).toBe(400);
    const { error } = (await response.json()) as ErrorBody;
    expect(error.fields?.map((issue) => issue.field).sort()).toEqual(['bogus', 'guidance_scale', 'num_inference_steps', 'prompt']);
  });

  it('maps the manifest’s checks back to the HTTP field names', async () => {
    // the FPS range is only known from the model's manifest, after the request's own checks
    const response = await json({ prompt: 'x', fps: 1 });
    const { error } = (await response.json()) as ErrorBody;
    expect(error.fields).toEqual([{ field: 'fps', message: expect.stringContaining('[2, 30]') }]);
  });

  it('created no video for any refused request', async () => {
    const list = (await (await api.call('bob', '/v1/videos')).json()) as { data: unknown[] };
    expect(list.data).toEqual([]);
  });

  it('answers 401 Unauthenticated without a key or with an unknown one, and accepts X-API-Key', async () => {
    const body = JSON.stringify({ prompt: 'x' });
    const headers = { 'Content-Type': 'application/json' };
    const none = await fetch(`${api.baseUrl}/v1/videos`, { method: 'POST', headers, body });
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer');
    expect(((await none.json()) as ErrorBody).error.code).toBe('Unauthenticated');
    const wrong = await fetch(`${api.baseUrl}/v1/videos`, { headers: { Authorization: 'Bearer not-a-key' } });
    expect(wrong.status).toBe(401);
    const apiKey = await fetch(`${api.baseUrl}/v1/videos`, { headers: { 'X-API-Key': 'carol-secret-key' } });
    expect(apiKey.status).toBe(200);
  });

  it('answers 404 VideoNotFound for an unknown or malformed id, and NotFound for an unknown route', async () => {
    for (const id of ['vid_00000000000000000000000000', 'not..a/valid%20id']) {
      const response = await api.call('alice', `/v1/videos/${encodeURIComponent(id)}`);
      expect(response.status).toBe(404);
      expect(((await response.json()) as ErrorBody).error.code).toBe('VideoNotFound');
    }
    const route = await api.call('alice', '/v1/nothing-here');
    expect(route.status).toBe(404);
    expect(((await route.json()) as ErrorBody).error.code).toBe('NotFound');
  });

  it('serves the OpenAPI 3.1 document at /docs/openapi.json and Swagger UI at /docs, without a key', async () => {
    const document = await fetch(`${api.baseUrl}/docs/openapi.json`);
    expect(document.status).toBe(200);
    const openapi = (await document.json()) as { openapi: string; paths: Record<string, Record<string, unknown>> };
    expect(openapi).toEqual(JSON.parse(JSON.stringify(buildOpenApiDocument({ version: '0.1.0', uploadLimitBytes: 2 * MiB }))));
    expect(openapi.openapi).toMatch(/^3\.1\.\d+$/);
    const ui = await fetch(`${api.baseUrl}/docs`);
    expect(ui.status).toBe(200);
    expect(ui.headers.get('content-type')).toContain('text/html');
    expect(await ui.text()).toContain('swagger');
  });
});
