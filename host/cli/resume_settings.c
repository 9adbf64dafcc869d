/* A checkpoint's run settings, taken from the options and read back through the option table. */
#include "cli/resume_settings.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

/* Where each of policy_settings lives in the options, by name. */
static const struct {
    const char *name;
    size_t offset;
} fields[] = {
    {"dataset", offsetof(train_options, dataset)},
    {"data", offsetof(train_options, data_dir)},
    {"train-csv", offsetof(train_options, train_csv)},
    {"test-csv", offsetof(train_options, test_csv)},
    {"init", offsetof(train_options, init)},
    {"batch", offsetof(train_options, batch)},
    {"epochs", offsetof(train_options, epochs)},
    {"train-limit", offsetof(train_options, train_limit)},
    {"shuffle", offsetof(train_options, shuffle)},
    {"lr", offsetof(train_options, lr)},
    {"momentum", offsetof(train_options, momentum)},
    {"weight-decay", offsetof(train_options, weight_decay)},
    {"seed", offsetof(train_options, seed)},
    {"preset", offsetof(train_options, preset)},
    {"val", offsetof(train_options, val)},
    {"early-stop", offsetof(train_options, early_stop)},
    {"plateau", offsetof(train_options, plateau)},
    {"optimizer", offsetof(train_options, optimizer)},
    {"beta1", offsetof(train_options, beta1)},
    {"beta2", offsetof(train_options, beta2)},
    {"eps", offsetof(train_options, eps)},
    {"schedule", offsetof(train_options, schedule)},
    {"warmup", offsetof(train_options, warmup)},
    {"step-epochs", offsetof(train_options, step_epochs)},
    {"gamma", offsetof(train_options, gamma)},
    {"final-lr", offsetof(train_options, final_lr)},
    {"dropout", offsetof(train_options, dropout)},
    {"input-dropout", offsetof(train_options, input_dropout)},
    {"augment", offsetof(train_options, augment)},
    {"shift", offsetof(train_options, aug.shift)},
    {"rotate", offsetof(train_options, aug.rotate)},
    {"scale", offsetof(train_options, aug.scale)},
    {"elastic-alpha", offsetof(train_options, aug.alpha)},
    {"elastic-sigma", offsetof(train_options, aug.sigma)},
};
_Static_assert(sizeof fields / sizeof fields[0] == POLICY_N_SETTINGS,
               "resume_settings.c and run_policy.c list different settings");

/* The field of o that setting `name` is kept in, or NULL when this table lacks it. */
static void *field_of(const train_options *o, const char *name)
{
    for (size_t k = 0; k < sizeof fields / sizeof fields[0]; k++)
        if (strcmp(fields[k].name, name) == 0)
            return (char *)o + fields[k].offset;
    return NULL;
}

void resume_settings_values(const train_options *o, policy_value values[POLICY_N_SETTINGS])
{
    for (int i = 0; i < POLICY_N_SETTINGS; i++) {
        const void *field = field_of(o, policy_settings[i].name);
        policy_value *v = &values[i];
        memset(v, 0, sizeof *v);
        if (!field) /* cannot happen (resume_settings_apply reports it): stored as unset/0 */
            continue;
        switch (policy_settings[i].kind) {
        case SETTING_STRING: v->text = *(const char *const *)field; break;
        case SETTING_INT:
        case SETTING_FLAG: v->integer = *(const int *)field; break;
        case SETTING_FLOAT: v->real = *(const float *)field; break;
        case SETTING_U64: v->u64 = *(const uint64_t *)field; break;
        }
    }
}

typedef struct {
    cli_option *table;
    int n_table;
} apply_ctx;

/* policy_setting_fn: a setting read back goes through its option (unless the command
 * line gave it); NULL unsets a string. */
static mc_status apply_one(void *ctx, int index, const char *text, mc_error *why)
{
    apply_ctx *c = ctx;
    cli_option *opt = cli_find(c->table, c->n_table, policy_settings[index].name);
    if (opt->seen) /* changed on purpose (epochs, data paths) */
        return MC_OK;
    if (!text) {
        *(const char **)opt->target = NULL;
        return MC_OK;
    }
    return cli_set(opt, text, why);
}

mc_status resume_settings_apply(train_options *o, st_file *meta, const char *path,
                                cli_option *table, int n_table, mc_error *err)
{
    for (int i = 0; i < n_table; i++)
        if (table[i].seen && !policy_resume_may_change(table[i].name))
            return mc_fail(err, MC_ERR_USAGE,
                           "--%s cannot change when resuming: the checkpoint's setting is kept",
                           table[i].name);
    for (int i = 0; i < POLICY_N_SETTINGS; i++) {
        cli_option *opt = cli_find(table, n_table, policy_settings[i].name);
        void *field = field_of(o, policy_settings[i].name);
        if (!opt || !field || opt->target != field)
            return mc_fail(err, MC_ERR_RUNTIME,
                           "internal: setting %s has no option of the same name in the train "
                           "command's table (resume_settings.c and cmd_train.c disagree)",
                           policy_settings[i].name);
    }
    apply_ctx ctx = {table, n_table};
    mc_status st = policy_settings_from_meta(meta, path, apply_one, &ctx, err);
    if (st)
        return st;
    if (o->preset && !train_options_preset_known(o->preset))
        return mc_fail(err, MC_ERR_DATA, "%s: setting.preset = '%.80s' is not a preset", path,
                       o->preset);
    return MC_OK;
}
