/* options.c — an outside plugin's `options:` map: loaded with libyaml's
 * document API into a small tree, read through typed getters
 * (swmrbus/options.h). */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "options.h"
#include "swmrbus/options.h"

#define MAX_NODES 4096
#define MAX_DEPTH 16

typedef enum onode_type { O_SCALAR, O_MAP, O_SEQ } onode_type;

typedef struct onode {
    onode_type type;
    char *key;             /* in the parent map; NULL in a list */
    char *value;           /* scalar text */
    struct onode **kids;
    size_t n;
} onode;

struct swmrbus_options {
    onode *root;           /* a map */
    char path[48];         /* "components[3].options" */
};

static void node_free(onode *n)
{
    if (!n) return;
    for (size_t i = 0; i < n->n; i++) node_free(n->kids[i]);
    free(n->kids);
    free(n->key);
    free(n->value);
    free(n);
}

void swmrbus__options_free(struct swmrbus_options **o)
{
    if (!o || !*o) return;
    node_free((*o)->root);
    free(*o);
    *o = NULL;
}

static swmrbus_err fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static swmrbus_err fail(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return SWMRBUS_ECONFIG;
}

/* ---- loading ---------------------------------------------------------------- */

typedef struct conv {
    yaml_document_t *doc;
    size_t nodes;
    bool too_big, oom;
} conv;

static char *dup_scalar(const yaml_node_t *y)
{
    char *s = malloc(y->data.scalar.length + 1);
    if (!s) return NULL;
    memcpy(s, y->data.scalar.value, y->data.scalar.length);
    s[y->data.scalar.length] = '\0';
    return s;
}

static onode *convert(conv *cv, yaml_node_t *y, unsigned depth)
{
    if (!y || depth > MAX_DEPTH || ++cv->nodes > MAX_NODES) {
        cv->too_big = true;
        return NULL;
    }
    onode *n = calloc(1, sizeof *n);
    if (!n) goto oom;
    if (y->type == YAML_SCALAR_NODE) {
        n->type = O_SCALAR;
        if (!(n->value = dup_scalar(y))) goto oom;
        return n;
    }
    size_t count = y->type == YAML_MAPPING_NODE
                       ? (size_t)(y->data.mapping.pairs.top - y->data.mapping.pairs.start)
                       : (size_t)(y->data.sequence.items.top - y->data.sequence.items.start);
    n->type = y->type == YAML_MAPPING_NODE ? O_MAP : O_SEQ;
    if (count > MAX_NODES) {
        cv->too_big = true;
        node_free(n);
        return NULL;
    }
    if (count && !(n->kids = calloc(count, sizeof *n->kids))) goto oom;
    for (size_t i = 0; i < count; i++) {
        yaml_node_t *v;
        char *key = NULL;
        if (n->type == O_MAP) {
            yaml_node_pair_t *p = &y->data.mapping.pairs.start[i];
            yaml_node_t *k = yaml_document_get_node(cv->doc, p->key);
            if (!k || k->type != YAML_SCALAR_NODE) {
                cv->too_big = true; /* a non-scalar key: reported as malformed */
                node_free(n);
                return NULL;
            }
            if (!(key = dup_scalar(k))) goto oom;
            v = yaml_document_get_node(cv->doc, p->value);
        } else {
            v = yaml_document_get_node(cv->doc, y->data.sequence.items.start[i]);
        }
        onode *kid = convert(cv, v, depth + 1);
        if (!kid) {
            free(key);
            node_free(n);
            return NULL;
        }
        kid->key = key;
        n->kids[n->n++] = kid;
    }
    return n;
oom:
    cv->oom = true;
    node_free(n);
    return NULL;
}

static yaml_node_t *map_get(yaml_document_t *doc, yaml_node_t *map, const char *key)
{
    if (!map || map->type != YAML_MAPPING_NODE) return NULL;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = yaml_document_get_node(doc, p->key);
        if (k && k->type == YAML_SCALAR_NODE && k->data.scalar.length == strlen(key) &&
            memcmp(k->data.scalar.value, key, k->data.scalar.length) == 0)
            return yaml_document_get_node(doc, p->value);
    }
    return NULL;
}

swmrbus_err swmrbus__options_attach(const char *text, size_t len, swmrbus_config *cfg,
                                    char *err, size_t errlen)
{
    yaml_parser_t parser;
    yaml_document_t doc;
    swmrbus_err rc = SWMRBUS_OK;
    bool have_doc = false;
    if (!yaml_parser_initialize(&parser)) return SWMRBUS_ENOMEM;
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    if (!yaml_parser_load(&parser, &doc)) {
        /* The schema loader accepted this text: libyaml cannot fail here but
         * for memory. */
        rc = fail(err, errlen, "config: %s", parser.problem ? parser.problem : "cannot parse");
        goto out;
    }
    have_doc = true;
    yaml_node_t *comps = map_get(&doc, yaml_document_get_root_node(&doc), "components");
    if (!comps || comps->type != YAML_SEQUENCE_NODE) goto out;
    size_t n = (size_t)(comps->data.sequence.items.top - comps->data.sequence.items.start);
    for (size_t i = 0; i < n && i < cfg->n_components; i++) {
        yaml_node_t *item = yaml_document_get_node(&doc, comps->data.sequence.items.start[i]);
        yaml_node_t *opts = map_get(&doc, item, "options");
        if (!opts) continue;
        char path[48];
        snprintf(path, sizeof path, "components[%zu].options", i);
        if (opts->type != YAML_MAPPING_NODE) {
            rc = fail(err, errlen, "%s: expected a map", path);
            goto out;
        }
        conv cv = {&doc, 0, false, false};
        onode *root = convert(&cv, opts, 0);
        if (!root) {
            rc = cv.oom ? SWMRBUS_ENOMEM
                        : fail(err, errlen, "%s: too large or malformed (at most %d values, "
                               "%d levels, scalar keys)", path, MAX_NODES, MAX_DEPTH);
            if (cv.oom) fail(err, errlen, "out of memory loading %s", path);
            goto out;
        }
        struct swmrbus_options *o = calloc(1, sizeof *o);
        if (!o) {
            node_free(root);
            rc = SWMRBUS_ENOMEM;
            goto out;
        }
        o->root = root;
        snprintf(o->path, sizeof o->path, "%s", path);
        cfg->components[i].options = o;
    }
out:
    if (have_doc) yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    return rc;
}

/* ---- getters ---------------------------------------------------------------- */

/* The node at the dotted key, or NULL. */
static const onode *lookup(const swmrbus_component_cfg *c, const char *key)
{
    if (!c || !c->options || !key) return NULL;
    const onode *n = c->options->root;
    const char *p = key;
    while (n && *p) {
        const char *dot = strchr(p, '.');
        size_t len = dot ? (size_t)(dot - p) : strlen(p);
        const onode *next = NULL;
        if (n->type == O_MAP)
            for (size_t i = 0; i < n->n && !next; i++)
                if (strlen(n->kids[i]->key) == len && memcmp(n->kids[i]->key, p, len) == 0)
                    next = n->kids[i];
        n = next;
        p += len + (dot ? 1 : 0);
    }
    return n;
}

static const char *opath(const swmrbus_component_cfg *c)
{
    return c && c->options ? c->options->path : "options";
}

static const char *kind_word(const onode *n)
{
    return n->type == O_MAP ? "a map" : n->type == O_SEQ ? "a list" : "a scalar";
}

bool swmrbus_option_present(const swmrbus_component_cfg *c, const char *key)
{
    return lookup(c, key) != NULL;
}

static bool parse_u64(const char *s, uint64_t *out)
{
    if (!s[0] || s[0] == '-' || s[0] == '+' || s[0] == ' ') return false;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || *end) return false;
    /* strtoull's base 0 reads a leading 0 as octal: only 0x is taken. */
    if (s[0] == '0' && s[1] && s[1] != 'x' && s[1] != 'X') return false;
    *out = v;
    return true;
}

static bool parse_f64(const char *s, double *out)
{
    if (!s[0] || s[0] == ' ') return false;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end || !isfinite(v)) return false;
    *out = v;
    return true;
}

swmrbus_err swmrbus_option_u64(const swmrbus_component_cfg *c, const char *key, uint64_t def,
                               uint64_t min, uint64_t max, uint64_t *out, char *err,
                               size_t errlen)
{
    const onode *n = lookup(c, key);
    uint64_t v;
    if (!n) {
        *out = def;
        return SWMRBUS_OK;
    }
    if (n->type != O_SCALAR || !parse_u64(n->value, &v) || v < min || v > max)
        return fail(err, errlen, "%s.%s: expected an integer from %llu to %llu, got %s%s%s",
                    opath(c), key, (unsigned long long)min, (unsigned long long)max,
                    n->type == O_SCALAR ? "\"" : "", n->type == O_SCALAR ? n->value : kind_word(n),
                    n->type == O_SCALAR ? "\"" : "");
    *out = v;
    return SWMRBUS_OK;
}

swmrbus_err swmrbus_option_f64(const swmrbus_component_cfg *c, const char *key, double def,
                               double min, double max, double *out, char *err, size_t errlen)
{
    const onode *n = lookup(c, key);
    double v;
    if (!n) {
        *out = def;
        return SWMRBUS_OK;
    }
    if (n->type != O_SCALAR || !parse_f64(n->value, &v) || v < min || v > max)
        return fail(err, errlen, "%s.%s: expected a number from %g to %g, got %s%s%s", opath(c),
                    key, min, max, n->type == O_SCALAR ? "\"" : "",
                    n->type == O_SCALAR ? n->value : kind_word(n),
                    n->type == O_SCALAR ? "\"" : "");
    *out = v;
    return SWMRBUS_OK;
}

swmrbus_err swmrbus_option_bool(const swmrbus_component_cfg *c, const char *key, bool def,
                                bool *out, char *err, size_t errlen)
{
    static const char *const yes[] = {"true", "True", "TRUE", "yes", "Yes", "on", "On", NULL};
    static const char *const no[] = {"false", "False", "FALSE", "no", "No", "off", "Off", NULL};
    const onode *n = lookup(c, key);
    if (!n) {
        *out = def;
        return SWMRBUS_OK;
    }
    if (n->type == O_SCALAR) {
        for (int i = 0; yes[i]; i++)
            if (!strcmp(n->value, yes[i])) return *out = true, SWMRBUS_OK;
        for (int i = 0; no[i]; i++)
            if (!strcmp(n->value, no[i])) return *out = false, SWMRBUS_OK;
    }
    return fail(err, errlen, "%s.%s: expected true or false, got %s%s%s", opath(c), key,
                n->type == O_SCALAR ? "\"" : "", n->type == O_SCALAR ? n->value : kind_word(n),
                n->type == O_SCALAR ? "\"" : "");
}

swmrbus_err swmrbus_option_str(const swmrbus_component_cfg *c, const char *key,
                               const char *def, const char **out, char *err, size_t errlen)
{
    const onode *n = lookup(c, key);
    if (!n) {
        *out = def;
        return SWMRBUS_OK;
    }
    if (n->type != O_SCALAR)
        return fail(err, errlen, "%s.%s: expected a string, got %s", opath(c), key, kind_word(n));
    *out = n->value;
    return SWMRBUS_OK;
}

swmrbus_err swmrbus_option_f64_list(const swmrbus_component_cfg *c, const char *key,
                                    double *out, size_t max, size_t *count, char *err,
                                    size_t errlen)
{
    const onode *n = lookup(c, key);
    *count = 0;
    if (!n) return SWMRBUS_OK;
    if (n->type != O_SEQ)
        return fail(err, errlen, "%s.%s: expected a list of numbers, got %s", opath(c), key,
                    kind_word(n));
    if (n->n > max)
        return fail(err, errlen, "%s.%s: at most %zu items, got %zu", opath(c), key, max, n->n);
    for (size_t i = 0; i < n->n; i++)
        if (n->kids[i]->type != O_SCALAR || !parse_f64(n->kids[i]->value, &out[i]))
            return fail(err, errlen, "%s.%s[%zu]: expected a number", opath(c), key, i);
    *count = n->n;
    return SWMRBUS_OK;
}

/* Checks the keys below n (at dotted prefix) against known. */
static swmrbus_err check_keys(const swmrbus_component_cfg *c, const onode *n, char *prefix,
                              size_t cap, const char *const *known, char *err, size_t errlen)
{
    size_t base = strlen(prefix);
    for (size_t i = 0; i < n->n; i++) {
        const onode *k = n->kids[i];
        snprintf(prefix + base, cap - base, "%s%s", base ? "." : "", k->key);
        bool listed = false, below = false;
        for (size_t j = 0; known[j] && !listed; j++) {
            listed = !strcmp(known[j], prefix);
            size_t pl = strlen(prefix);
            below = below || (!strncmp(known[j], prefix, pl) && known[j][pl] == '.');
        }
        if (!listed && !(below && k->type == O_MAP)) {
            swmrbus_err rc = fail(err, errlen, "%s.%s: unknown key", opath(c), prefix);
            prefix[base] = '\0';
            return rc;
        }
        if (!listed && k->type == O_MAP) {
            swmrbus_err rc = check_keys(c, k, prefix, cap, known, err, errlen);
            if (rc != SWMRBUS_OK) return rc;
        }
        prefix[base] = '\0';
    }
    return SWMRBUS_OK;
}

swmrbus_err swmrbus_options_only(const swmrbus_component_cfg *c, const char *const *known,
                                 char *err, size_t errlen)
{
    if (!c || !c->options) return SWMRBUS_OK;
    char prefix[512] = "";
    return check_keys(c, c->options->root, prefix, sizeof prefix, known, err, errlen);
}
