/* sink/writer_nxmx.c — the NXmx application definition for a series whose
 * start.meta says `definition: "NXmx"` (what the Dectris decoders put
 * there; any producer may). Called once, after writer_meta.c has written
 * every meta key as a dataset of /entry/instrument/detector and before SWMR
 * starts; it moves the keys NXmx places elsewhere and adds units:
 *
 *   detector/definition          -> /entry/definition ("NXmx")
 *   detector/arm_date            -> /entry/start_time
 *   detector/incident_wavelength -> /entry/instrument/beam (NXbeam), angstrom
 *   detector/incident_energy     -> /entry/instrument/beam, eV
 *   detector/user_data           -> /entry@user_data (a JSON string attribute)
 *   @units on beam_center_x/y (pixel), count_time, frame_time (s),
 *   sensor_thickness, x/y_pixel_size (m), threshold_energy (eV).
 *
 * A series without that key is left as writer_meta.c made it. */
#include <stdlib.h>
#include <string.h>

#include <hdf5.h>

#include "writer_priv.h"

static int find_nxmx(const swmrbus_meta_item *it, void *user)
{
    if (it->kind == SWMRBUS_META_STR && it->key.len == 10 &&
        memcmp(it->key.ptr, "definition", 10) == 0 && it->s.len == 4 &&
        memcmp(it->s.ptr, "NXmx", 4) == 0)
        *(bool *)user = true;
    return 0;
}

/* Moves link name of from to to/as when it exists. */
static swmrbus_err move(hid_t from, const char *name, hid_t to, const char *as, char *err,
                        size_t errlen)
{
    htri_t ex = H5Lexists(from, name, H5P_DEFAULT);
    if (ex == 0) return SWMRBUS_OK;
    if (ex < 0 || H5Lmove(from, name, to, as, H5P_DEFAULT, H5P_DEFAULT) < 0) {
        swmrbus__h5_err(err, errlen, "NXmx: move %s", name);
        return SWMRBUS_EIO;
    }
    return SWMRBUS_OK;
}

static swmrbus_err units(hid_t g, const char *name, const char *u, char *err, size_t errlen)
{
    htri_t ex = H5Lexists(g, name, H5P_DEFAULT);
    if (ex == 0) return SWMRBUS_OK;
    hid_t d = ex > 0 ? H5Dopen2(g, name, H5P_DEFAULT) : H5I_INVALID_HID;
    if (d < 0) {
        swmrbus__h5_err(err, errlen, "NXmx: open %s", name);
        return SWMRBUS_EIO;
    }
    swmrbus_err rc = swmrbus__h5_attr_str(d, "units", u, strlen(u), err, errlen);
    H5Dclose(d);
    return rc;
}

/* The string dataset name of det becomes the attribute name of to. */
static swmrbus_err to_attr(hid_t det, const char *name, hid_t to, char *err, size_t errlen)
{
    swmrbus_err rc = SWMRBUS_EIO;
    hid_t d = H5I_INVALID_HID, t = H5I_INVALID_HID;
    char *buf = NULL;
    htri_t ex = H5Lexists(det, name, H5P_DEFAULT);
    if (ex == 0) return SWMRBUS_OK;
    if (ex < 0 || (d = H5Dopen2(det, name, H5P_DEFAULT)) < 0 || (t = H5Dget_type(d)) < 0) {
        swmrbus__h5_err(err, errlen, "NXmx: open %s", name);
        goto out;
    }
    if (H5Tget_class(t) != H5T_STRING || H5Tis_variable_str(t) > 0) { /* not ours: leave it */
        rc = SWMRBUS_OK;
        goto out;
    }
    size_t n = H5Tget_size(t);
    if (!(buf = calloc(1, n + 1))) {
        rc = SWMRBUS_ENOMEM;
        goto out;
    }
    if (H5Dread(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0) {
        swmrbus__h5_err(err, errlen, "NXmx: read %s", name);
        goto out;
    }
    if ((rc = swmrbus__h5_attr_str(to, name, buf, strnlen(buf, n), err, errlen))) goto out;
    H5Dclose(d);
    d = H5I_INVALID_HID;
    if (H5Ldelete(det, name, H5P_DEFAULT) < 0) {
        swmrbus__h5_err(err, errlen, "NXmx: unlink %s", name);
        rc = SWMRBUS_EIO;
        goto out;
    }
    rc = SWMRBUS_OK;
out:
    free(buf);
    if (t >= 0) H5Tclose(t);
    if (d >= 0) H5Dclose(d);
    return rc;
}

swmrbus_err swmrbus__writer_nxmx(hid_t entry, hid_t inst, hid_t det, swmrbus_str meta,
                                 char *err, size_t errlen)
{
    static const struct {
        const char *name, *units;
    } det_units[] = {
        {"beam_center_x", "pixel"}, {"beam_center_y", "pixel"}, {"count_time", "s"},
        {"frame_time", "s"},        {"sensor_thickness", "m"},  {"x_pixel_size", "m"},
        {"y_pixel_size", "m"},      {"threshold_energy", "eV"},
    };
    bool nxmx = false;
    swmrbus_err rc = SWMRBUS_OK;
    hid_t beam = H5I_INVALID_HID;
    if (!meta.ptr || meta.len == 0) return SWMRBUS_OK;
    if (swmrbus_meta_foreach(meta, find_nxmx, &nxmx) != SWMRBUS_OK || !nxmx) return SWMRBUS_OK;
    if ((rc = move(det, "definition", entry, "definition", err, errlen)) ||
        (rc = move(det, "arm_date", entry, "start_time", err, errlen)) ||
        (rc = to_attr(det, "user_data", entry, err, errlen)))
        goto out;
    for (size_t i = 0; i < sizeof det_units / sizeof det_units[0]; i++)
        if ((rc = units(det, det_units[i].name, det_units[i].units, err, errlen))) goto out;
    htri_t w = H5Lexists(det, "incident_wavelength", H5P_DEFAULT);
    htri_t e = H5Lexists(det, "incident_energy", H5P_DEFAULT);
    if (w <= 0 && e <= 0) goto out;
    rc = SWMRBUS_EIO;
    if ((beam = H5Gcreate2(inst, "beam", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)) < 0) {
        swmrbus__h5_err(err, errlen, "NXmx: create /entry/instrument/beam");
        goto out;
    }
    if ((rc = swmrbus__h5_attr_str(beam, "NX_class", "NXbeam", 6, err, errlen)) ||
        (rc = move(det, "incident_wavelength", beam, "incident_wavelength", err, errlen)) ||
        (rc = move(det, "incident_energy", beam, "incident_energy", err, errlen)) ||
        (rc = units(beam, "incident_wavelength", "angstrom", err, errlen)) ||
        (rc = units(beam, "incident_energy", "eV", err, errlen)))
        goto out;
out:
    if (beam >= 0) H5Gclose(beam);
    return rc;
}
