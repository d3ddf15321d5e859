import { AppError, notFound } from '../errors.js';
import { hashPassword } from '../auth/password.js';
import type { UserStatus } from '../auth/user-status.js';
import type { DepartmentDoc, DirectoryModels, UserDoc } from './model.js';
import type { z } from 'zod';
import type { createDepartmentSchema, createUserSchema, updateDepartmentSchema, updateUserSchema } from './schema.js';

export const presentUser = (u: UserDoc) => ({
  id: u._id,
  username: u.username,
  name: u.name,
  role: u.role,
  departmentId: u.departmentId,
  active: u.active,
});

export const presentDepartment = (d: DepartmentDoc) => ({
  id: d._id,
  name: d.name,
  nameEn: d.nameEn,
  level: d.level,
  kind: d.kind,
  parentId: d.parentId,
  districtId: d.districtId,
  streetId: d.streetId,
  active: d.active,
});

const isDup = (e: unknown): boolean => (e as { code?: unknown })?.code === 11000;

export class DirectoryService {
  constructor(
    private readonly m: DirectoryModels,
    private readonly status: UserStatus,
    /** Called after the hierarchy changes (the deadline engine caches it for escalation). */
    private readonly onHierarchyChange: () => Promise<void> = async () => undefined,
  ) {}

  async listDepartments(): Promise<DepartmentDoc[]> {
    return this.m.Department.find({}).sort({ level: 1, _id: 1 }).lean<DepartmentDoc[]>();
  }

  async createDepartment(input: z.output<typeof createDepartmentSchema>): Promise<DepartmentDoc> {
    if (input.parentId && !(await this.m.Department.exists({ _id: input.parentId }))) {
      throw new AppError('UNKNOWN_DEPARTMENT', 'parent department does not exist');
    }
    const { id, ...rest } = input;
    try {
      const doc = await this.m.Department.create({ _id: id, ...rest, active: true });
      await this.onHierarchyChange();
      return doc.toObject();
    } catch (e) {
      if (isDup(e)) throw new AppError('DUPLICATE', `department ${id} already exists`);
      throw e;
    }
  }

  async updateDepartment(id: string, patch: z.output<typeof updateDepartmentSchema>): Promise<DepartmentDoc> {
    if (patch.parentId) {
      if (patch.parentId === id) throw new AppError('VALIDATION_FAILED', 'a department cannot be its own parent');
      if (!(await this.m.Department.exists({ _id: patch.parentId }))) throw new AppError('UNKNOWN_DEPARTMENT', 'parent department does not exist');
    }
    const doc = await this.m.Department.findOneAndUpdate({ _id: id }, { $set: patch }, { returnDocument: 'after' }).lean<DepartmentDoc>();
    if (!doc) throw notFound('department');
    await this.onHierarchyChange();
    return doc;
  }

  async listUsers(): Promise<UserDoc[]> {
    return this.m.User.find({}).sort({ role: 1, username: 1 }).lean<UserDoc[]>();
  }

  async createUser(input: z.output<typeof createUserSchema>): Promise<UserDoc> {
    if (input.departmentId && !(await this.m.Department.exists({ _id: input.departmentId }))) {
      throw new AppError('UNKNOWN_DEPARTMENT', 'department does not exist');
    }
    const { password, ...rest } = input;
    try {
      const doc = await this.m.User.create({ _id: input.username, ...rest, passwordHash: await hashPassword(password), active: true });
      return doc.toObject();
    } catch (e) {
      if (isDup(e)) throw new AppError('DUPLICATE', `user ${input.username} already exists`);
      throw e;
    }
  }

  async updateUser(id: string, patch: z.output<typeof updateUserSchema>): Promise<UserDoc> {
    const { password, ...rest } = patch;
    const set: Record<string, unknown> = { ...rest };
    if (password) set.passwordHash = await hashPassword(password);
    const doc = await this.m.User.findOneAndUpdate({ _id: id }, { $set: set }, { returnDocument: 'after' }).lean<UserDoc>();
    if (!doc) throw notFound('user');
    this.status.invalidate(id);
    return doc;
  }
}
