// libyaml (Debian libyaml-dev): the YAML 1.1 parser behind the agent's config reader.
#include <yaml.h>
