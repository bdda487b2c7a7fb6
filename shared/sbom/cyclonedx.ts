/**
 * CycloneDX 1.6 JSON (https://cyclonedx.org/docs/1.6/json/) of an image's inventory, built with
 * @cyclonedx/cyclonedx-library: the image as the metadata component (a container), the OS as an
 * operating-system component, and one library component per package, with its PURL and, as
 * properties, where it was found and the layer that brought it.
 */
// Entry points, not the package root: the root also loads the optional XML plugins.
import * as Enums from '@cyclonedx/cyclonedx-library/Enums';
import * as Models from '@cyclonedx/cyclonedx-library/Models';
import * as Serialize from '@cyclonedx/cyclonedx-library/Serialize';
import * as Spec from '@cyclonedx/cyclonedx-library/Spec';
import type { Image } from '../image/types.js';
import type { Inventory } from '../inventory/inventory.js';

export interface SbomTool {
  readonly name: string;
  readonly version: string;
}

export function toCycloneDx(
  image: Image,
  inventory: Inventory,
  tool: SbomTool,
  now = new Date(),
): string {
  const bom = new Models.Bom();
  bom.metadata.timestamp = now;
  bom.metadata.tools.components.add(
    new Models.Component(Enums.ComponentType.Application, tool.name, { version: tool.version }),
  );
  const container = new Models.Component(Enums.ComponentType.Container, image.source, {
    ...(image.manifestDigest === undefined ? {} : { version: image.manifestDigest }),
    bomRef: 'image',
  });
  bom.metadata.component = container;
  if (inventory.os !== undefined) {
    const os = new Models.Component(Enums.ComponentType.OperatingSystem, inventory.os.family, {
      ...(inventory.os.versionId === undefined ? {} : { version: inventory.os.versionId }),
      bomRef: `os:${inventory.os.family}`,
    });
    bom.components.add(os);
    container.dependencies.add(os.bomRef);
  }
  for (const [i, p] of inventory.packages.entries()) {
    const component = new Models.Component(Enums.ComponentType.Library, p.name, {
      version: p.version,
      bomRef: `pkg:${i}:${p.purl}`,
      purl: p.purl,
    });
    for (const license of p.licenses ?? [])
      component.licenses.add(new Models.NamedLicense(license));
    component.properties.add(new Models.Property('bosun:location', p.location));
    if (p.layer !== undefined)
      component.properties.add(new Models.Property('bosun:layer', p.layer));
    if (p.sourceName !== undefined)
      component.properties.add(new Models.Property('bosun:source-package', p.sourceName));
    bom.components.add(component);
    container.dependencies.add(component.bomRef);
  }
  const serializer = new Serialize.JsonSerializer(
    new Serialize.JSON.Normalize.Factory(Spec.Spec1dot6),
  );
  return serializer.serialize(bom, { sortLists: true, space: 2 });
}
