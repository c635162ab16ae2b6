import { describe, expect, it } from 'vitest';
import { checkWebhookUrl, type HostLookup, WebhookHostUnresolved, WebhookUrlNotAllowed } from './webhook-url-guard';

const strict = { allowLoopback: false, requireHttps: false };
const publicLookup: HostLookup = () => Promise.resolve([{ address: '93.184.215.14', family: 4 }]);
const resolvingTo =
  (...addresses: string[]): HostLookup =>
  () =>
    Promise.resolve(addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }) as const));

describe('checkWebhookUrl', () => {
  it.each([
    'http://127.0.0.1/hook',
    'http://127.8.9.10:8080/hook',
    'http://10.0.0.1/hook',
    'http://10.255.255.255/hook',
    'http://172.16.0.1/',
    'http://172.31.255.1/',
    'http://192.168.1.1/',
    'http://169.254.169.254/latest/meta-data/',
    'http://100.64.0.1/',
    'http://0.0.0.0/',
    'http://224.0.0.1/',
    'http://[::1]/hook',
    'http://[fe80::1]/',
    'http://[fc00::1]/',
    'http://[fd00:ec2::254]/',
    'http://[::ffff:127.0.0.1]/',
    'http://[::ffff:169.254.169.254]/',
    'http://[::ffff:a00:1]/',
    'http://[::]/',
  ])('refuses %s', async (url) => {
    await expect(checkWebhookUrl(url, strict, publicLookup)).rejects.toBeInstanceOf(WebhookUrlNotAllowed);
  });

  it('refuses a host name that resolves to a private address, even when another of its addresses is public', async () => {
    await expect(checkWebhookUrl('https://hooks.example.com/x', strict, resolvingTo('10.1.2.3'))).rejects.toThrow(/10\.1\.2\.3/);
    await expect(checkWebhookUrl('https://hooks.example.com/x', strict, resolvingTo('93.184.215.14', '169.254.169.254'))).rejects.toBeInstanceOf(
      WebhookUrlNotAllowed,
    );
    await expect(checkWebhookUrl('https://hooks.example.com/x', strict, resolvingTo('::1'))).rejects.toBeInstanceOf(WebhookUrlNotAllowed);
  });

  it('accepts a public address and returns the checked addresses to connect to', async () => {
    const checked = await checkWebhookUrl('https://hooks.example.com/x', strict, resolvingTo('93.184.215.14', '2606:2800:21f:cb07:6820:80da:af6b:8b2c'));
    expect(checked.addresses.map((entry) => entry.address)).toEqual(['93.184.215.14', '2606:2800:21f:cb07:6820:80da:af6b:8b2c']);
    expect(checked.url.hostname).toBe('hooks.example.com');
  });

  it('allows loopback, and loopback only, when the switch is on', async () => {
    const loose = { allowLoopback: true, requireHttps: false };
    await expect(checkWebhookUrl('http://127.0.0.1:9999/hook', loose)).resolves.toMatchObject({ addresses: [{ address: '127.0.0.1', family: 4 }] });
    await expect(checkWebhookUrl('http://[::1]:9999/hook', loose)).resolves.toMatchObject({ addresses: [{ address: '::1', family: 6 }] });
    await expect(checkWebhookUrl('http://10.0.0.1/hook', loose)).rejects.toBeInstanceOf(WebhookUrlNotAllowed);
    await expect(checkWebhookUrl('http://169.254.169.254/', loose)).rejects.toBeInstanceOf(WebhookUrlNotAllowed);
  });

  it('requires https when configured, and refuses credentials in the URL', async () => {
    await expect(checkWebhookUrl('http://hooks.example.com/x', { allowLoopback: false, requireHttps: true }, publicLookup)).rejects.toThrow(/https/);
    await expect(checkWebhookUrl('https://user:pw@hooks.example.com/x', strict, publicLookup)).rejects.toBeInstanceOf(WebhookUrlNotAllowed);
  });

  it('resolves localhost through the system resolver and refuses it', async () => {
    await expect(checkWebhookUrl('http://localhost:1234/', strict)).rejects.toBeInstanceOf(WebhookUrlNotAllowed);
  });

  it('tells an unresolvable host apart from a refused one', async () => {
    const failing: HostLookup = () => Promise.reject(new Error('ENOTFOUND'));
    await expect(checkWebhookUrl('https://nowhere.invalid/', strict, failing)).rejects.toBeInstanceOf(WebhookHostUnresolved);
  });
});
