import { OpenAPIRegistry, OpenApiGeneratorV3 } from '@asteasolutions/zod-to-openapi';

export function newRegistry(): OpenAPIRegistry {
  const registry = new OpenAPIRegistry();
  registry.registerComponent('securitySchemes', 'bearerAuth', { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' });
  // the console's session (auth/session-cookie.ts); changes also need X-Requested-With: hotline-console
  registry.registerComponent('securitySchemes', 'cookieAuth', { type: 'apiKey', in: 'cookie', name: 'hotline_session' });
  return registry;
}

export function openApiDocument(registry: OpenAPIRegistry) {
  return new OpenApiGeneratorV3(registry.definitions).generateDocument({
    openapi: '3.0.3',
    info: {
      title: '12345 hotline closed-loop API',
      version: '0.1.0',
      description:
        'Tickets (工单) through the closed loop 受理 → 派单 → 办理 → 答复 → 督办 → 办结 → 回访 → 评价. ' +
        'Errors are `{ error: { code, message, details } }` with stable codes.',
    },
    servers: [{ url: '/' }],
  });
}
