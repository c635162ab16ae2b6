// The public surface of @magicvideo/diffusion; exports arrive with the runtime modules.
export {};
