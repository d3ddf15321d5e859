import { z } from 'zod';
import { DEPARTMENT_KINDS, DEPARTMENT_LEVELS, USER_ROLES } from './model.js';

export const departmentId = z.string().regex(/^[a-z0-9][a-z0-9-]{1,63}$/, 'must be a lowercase code (a-z, 0-9, -)');

export const createDepartmentSchema = z.object({
  id: departmentId,
  name: z.string().trim().min(2).max(100),
  nameEn: z.string().trim().min(2).max(200),
  level: z.enum(DEPARTMENT_LEVELS),
  kind: z.enum(DEPARTMENT_KINDS).default('bureau'),
  parentId: departmentId.nullable().default(null),
  districtId: z.string().trim().min(1).max(64).nullable().default(null),
  streetId: z.string().trim().min(1).max(64).nullable().default(null),
});
export const updateDepartmentSchema = createDepartmentSchema.omit({ id: true }).partial().extend({ active: z.boolean().optional() });
export const departmentParams = z.object({ id: departmentId });

const password = z.string().min(8).max(200);
export const loginSchema = z.object({ username: z.string().trim().min(1).max(64), password: z.string().min(1).max(200) });
export const createUserSchema = z
  .object({
    username: z.string().trim().regex(/^[a-z0-9_.-]{3,32}$/, 'lowercase letters, digits, _ . - (3–32)'),
    name: z.string().trim().min(1).max(50),
    role: z.enum(USER_ROLES),
    departmentId: departmentId.nullable().default(null),
    password,
  })
  .refine((u) => (u.role === 'department') === (u.departmentId !== null), {
    message: 'department users need a departmentId; other roles must not have one',
    path: ['departmentId'],
  });
export const updateUserSchema = z.object({
  name: z.string().trim().min(1).max(50).optional(),
  active: z.boolean().optional(),
  password: password.optional(),
});
export const userParams = z.object({ id: z.string().regex(/^[a-z0-9_.-]{3,32}$/) });
