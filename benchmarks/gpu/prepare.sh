#!/usr/bin/env bash
# Run here, before sending the repository to the GPU machine: fills the git-ignored data/ with the sets
# the GPU runs read (from ../shared/data, or the folder given) and .whl/ with the Python packages that
# machine lacks (Python 3.12 there: jsonargparse and albumentations with their dependencies).
set -euo pipefail
cd "$(dirname "$0")/../.."
SOURCE=${1:-../shared/data}
mkdir -p data .whl
for set in Train400 Set12 BSD68; do [ -d "data/$set" ] || cp -r "$SOURCE/$set" data/; done
PIP=${PIP:-python3 -m pip}
$PIP download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d .whl \
  jsonargparse==4.53.0 docstring_parser==0.18.0 typeshed_client==2.15.0 albumentations==2.0.8 albucore==0.0.24 \
  pydantic==2.14.4 pydantic_core==2.50.5 annotated-types==0.8.0 typing-inspection==0.4.5 simsimd==6.5.16 \
  stringzilla==5.3.2
du -sh data .whl
