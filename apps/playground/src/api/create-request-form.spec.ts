import { createVideoRequestSchema, type ResolvedRequestHttp } from '@magicvideo/shared/http-schemas';
import { describe, expect, it } from 'vitest';
import { EMPTY_FORM, replayRequest, requestFromForm } from './create-request-form';
import { curlCommand } from './curl-command';

describe('the new-video form', () => {
  it('leaves blank fields to the model and sends the typed ones as numbers', () => {
    const outcome = requestFromForm({ ...EMPTY_FORM, prompt: 'a red circle moving right', seed: ' 42 ', guidanceScale: '5.5', formats: ['mp4', 'webm'] });
    expect(outcome).toEqual({
      ok: true,
      request: {
        prompt: 'a red circle moving right',
        seed: 42,
        guidance_scale: 5.5,
        interpolate: true,
        super_resolution: true,
        output_formats: ['mp4', 'webm'],
      },
    });
  });

  it('names each field the API would refuse, before sending anything', () => {
    const outcome = requestFromForm({ ...EMPTY_FORM, prompt: '  ', steps: '2.5', seed: 'abc', formats: [], webhookUrl: 'ftp://example.com/hook' });
    expect(outcome.ok).toBe(false);
    if (outcome.ok) return;
    expect(outcome.problems.map((problem) => problem.field).sort()).toEqual(['num_inference_steps', 'output_formats', 'prompt', 'seed', 'webhook_url']);
  });

  it('sends stage steps only for the stages it runs, and the webhook URL when one is given', () => {
    const outcome = requestFromForm({ ...EMPTY_FORM, prompt: 'p', interpolate: false, interpSteps: '4', srSteps: '3', webhookUrl: ' https://example.com/hook ' });
    expect(outcome).toMatchObject({ ok: true, request: { interpolate: false, sr_num_inference_steps: 3, webhook_url: 'https://example.com/hook' } });
    expect(outcome.ok && outcome.request).not.toHaveProperty('interp_num_inference_steps');
  });
});

describe('copy as curl', () => {
  const resolved: ResolvedRequestHttp = {
    prompt: "it's a red circle",
    negative_prompt: '',
    seed: 7,
    num_inference_steps: 3,
    guidance_scale: 7.5,
    fps: 8,
    sampler: 'ddim',
    interpolate: true,
    super_resolution: false,
    interp_num_inference_steps: 2,
    sr_num_inference_steps: 2,
    sr_noise_level: 20,
    output_formats: ['mp4'],
  };

  it('replays the resolved request as a body the API accepts, seed included', () => {
    const body = replayRequest(resolved);
    expect(createVideoRequestSchema.parse(body)).toEqual(body);
    expect(body.seed).toBe(7);
    expect(body).not.toHaveProperty('sr_noise_level');
  });

  it('keeps the video\'s webhook URL in the replayed request', () => {
    expect(replayRequest(resolved, 'https://example.com/hook').webhook_url).toBe('https://example.com/hook');
  });

  it('quotes the body for a shell and reads the key from the environment', () => {
    const command = curlCommand('http://localhost:3000', replayRequest(resolved));
    expect(command).toContain(`curl -X POST 'http://localhost:3000/v1/videos'`);
    expect(command).toContain('"Authorization: Bearer $MAGICVIDEO_API_KEY"');
    expect(command).toContain(`"prompt":"it'\\''s a red circle"`);
  });
});
