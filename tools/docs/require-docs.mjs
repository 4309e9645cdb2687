/**
 * TypeDoc plugin: fail the docs build on an undocumented export (`npm run docs`).
 *
 * TypeDoc's own `validation.notDocumented` also demands a comment on every property of every
 * anonymous object type: each field of each `as const` descriptor object (hundreds of
 * `samDescriptor.params.rho.type`), of each inline return type and of each member of a
 * discriminated union. Those are documented where they are declared (the descriptor, the
 * function's comment, the union's comment). This check asks for what a reader needs instead:
 *
 * - every export of the package's entry points (function, variable, class, interface, type
 *   alias, enum) has a comment (a function: on its declaration or every signature);
 * - every member of an exported class or interface, and every property of an exported type
 *   alias to an object type (or an intersection with one), has a comment — unless it is
 *   inherited (checked where it is declared) or declared outside this package (Error's).
 *
 * A miss is a validation warning naming the export, so with `treatWarningsAsErrors` the build
 * fails. Configured in typedoc.json (`plugin`), with `validation.notDocumented` off.
 */
import { Application, Models } from "typedoc";

const { ReflectionKind } = Models;

const MEMBERS = ReflectionKind.Property | ReflectionKind.Method | ReflectionKind.Accessor | ReflectionKind.EnumMember;

/** @param {import("typedoc").Application} app */
export function load(app) {
  app.on(Application.EVENT_VALIDATE_PROJECT, (project) => {
    const pkg = project.packageName;
    const ours = (r) => {
      const id = project.getSymbolIdFromReflection(r);
      return !id || id.packageName === pkg;
    };
    const documented = (r) => {
      if (r.hasComment()) return true;
      const sigs = [...(r.signatures ?? []), ...(r.getSignature ? [r.getSignature] : []), ...(r.setSignature ? [r.setSignature] : [])];
      return sigs.length > 0 && sigs.every((s) => s.hasComment());
    };
    const where = (r) => {
      const id = project.getSymbolIdFromReflection(r);
      return id ? `${id.packageName}/${id.packagePath}` : "?";
    };
    let missing = 0;
    const require = (r) => {
      if (documented(r) || !ours(r)) return;
      missing++;
      app.logger.validationWarning(`${r.getFriendlyFullName()} (${ReflectionKind[r.kind]}), defined in ${where(r)}, has no documentation comment`);
    };
    const objectMembers = (type) => {
      if (type?.type === "reflection") return type.declaration.children ?? [];
      if (type?.type === "intersection") return type.types.flatMap(objectMembers);
      return [];
    };
    const seen = new Set();
    for (const mod of project.getChildrenByKind(ReflectionKind.Module)) {
      for (const r of mod.children ?? []) {
        if (r.kindOf(ReflectionKind.Reference) || seen.has(r)) continue;
        seen.add(r);
        require(r);
        let members = [];
        if (r.kindOf(ReflectionKind.Class | ReflectionKind.Interface | ReflectionKind.Enum)) members = r.children ?? [];
        else if (r.kindOf(ReflectionKind.TypeAlias)) members = [...(r.children ?? []), ...objectMembers(r.type)];
        for (const m of members) {
          if (!m.kindOf(MEMBERS) || m.inheritedFrom || m.flags.isPrivate) continue;
          require(m);
        }
      }
    }
    if (missing) app.logger.info(`require-docs: ${missing} exported declaration(s) or member(s) without documentation`);
  });
}
