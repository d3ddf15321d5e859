import { ALL_ROLES } from '../auth/policies.js';
import type { ApiRouter } from '../http/router.js';
import { createDepartmentSchema, createUserSchema, departmentParams, updateDepartmentSchema, updateUserSchema, userParams } from './schema.js';
import { presentDepartment, presentUser, type DirectoryService } from './service.js';

export function directoryRoutes(api: ApiRouter, dir: DirectoryService): void {
  api.add({
    method: 'get',
    path: '/departments',
    tag: 'directory',
    summary: 'Departments (city → district → street hierarchy)',
    roles: ALL_ROLES,
    async handler() {
      return { items: (await dir.listDepartments()).map(presentDepartment) };
    },
  });
  api.add({
    method: 'post',
    path: '/departments',
    tag: 'directory',
    summary: 'Create a department',
    roles: ['admin'],
    body: createDepartmentSchema,
    status: 201,
    async handler({ body }) {
      return presentDepartment(await dir.createDepartment(body));
    },
  });
  api.add({
    method: 'patch',
    path: '/departments/:id',
    tag: 'directory',
    summary: 'Update or deactivate a department',
    roles: ['admin'],
    params: departmentParams,
    body: updateDepartmentSchema,
    async handler({ params, body }) {
      return presentDepartment(await dir.updateDepartment(params.id, body));
    },
  });
  api.add({
    method: 'get',
    path: '/users',
    tag: 'directory',
    summary: 'Users',
    roles: ['admin', 'supervisor'],
    async handler() {
      return { items: (await dir.listUsers()).map(presentUser) };
    },
  });
  api.add({
    method: 'post',
    path: '/users',
    tag: 'directory',
    summary: 'Create a user (department users are bound to one department)',
    roles: ['admin'],
    body: createUserSchema,
    status: 201,
    async handler({ body }) {
      return presentUser(await dir.createUser(body));
    },
  });
  api.add({
    method: 'patch',
    path: '/users/:id',
    tag: 'directory',
    summary: 'Update a user (name, active, password)',
    roles: ['admin'],
    params: userParams,
    body: updateUserSchema,
    async handler({ params, body }) {
      return presentUser(await dir.updateUser(params.id, body));
    },
  });
}
