/** Injection token of the video webhooks service (explicit @Inject: no decorator metadata under tsx). */
export const VIDEO_WEBHOOKS = Symbol('VIDEO_WEBHOOKS');
