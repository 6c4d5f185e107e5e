/* The hot loops of the watch-rule engine in C: monitor.arabic.Words and parts of
   monitor.matching.

   monitor/arabic.py reads a text's words through a cache of its space-separated pieces; a
   piece it has not seen costs dozens of Python operations to learn, and an article from a
   new source has hundreds of them. `read_words` reads any text in one pass instead, with the
   tokeniser's own rules: a word is a run of decimal digits, or a run of letters (alphanumeric
   but not a decimal digit) and marks; each is normalised with monitor.arabic's table, then
   lowercased. The rest serves monitor.matching: which new words the rule words may read as
   (`string_set`, `words_in`, `words_beginning`), an article's rule words and their positions
   (`split_known`, `readings_union`, `fill_positions`), the spans of phrases, NEAR and OR
   (`points`, `phrase_spans`, `near_spans`, `merge_spans`), and snippets' whitespace
   (`even_spaces`).

   It is optional: without it (no C compiler, RAQIB_PURE_PYTHON) the Python code does the
   same, and the tests compare the two. Every call holds the GIL; the process-wide table of
   words (`word_of`) relies on it. */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>

#define BMP 0x10000
#define DROPPED 0xFFFFFFFF /* removed by normalising */

/* What each character of the Basic Multilingual Plane is to the tokeniser, worked out once
   (`configure`) with the same Unicode database the regex uses: */
enum { SEPARATOR, DIGIT, LETTER, MARK };
#define PYTHON_LOWER 0x10 /* lowercased by str.lower() itself: dotted capital I, capital sigma */
/* ...and what it becomes in a word: monitor.arabic._TABLE, then lowercased. Both in one word a
   character, for the loop over a text: the folded character in the low 21 bits (DROPPED_BIT:
   none), the class above them. */
#define DROPPED_BIT (1u << 21)
#define CLASS_SHIFT 24
static uint32_t info[BMP];
static int configured = 0;

static int
class_of(Py_UCS4 ch, int mark)
{
    /* The tokeniser's regex: \d+ first, then a run of [^\W\d_] (alphanumeric, not a decimal
       digit) or of the marks that stay inside a word. */
    if (Py_UNICODE_ISDECIMAL(ch))
        return DIGIT;
    if (Py_UNICODE_ISALNUM(ch))
        return LETTER;
    return mark ? MARK : SEPARATOR;
}

static PyObject *
configure(PyObject *module, PyObject *args)
{
    PyObject *table, *mark_chars, *key, *value;
    Py_ssize_t pos = 0;
    static unsigned char marks[BMP], classes[BMP];
    static Py_UCS4 folded[BMP];
    if (!PyArg_ParseTuple(args, "O!U", &PyDict_Type, &table, &mark_chars))
        return NULL;
    for (Py_UCS4 ch = 0; ch < BMP; ch++)
        folded[ch] = ch;
    while (PyDict_Next(table, &pos, &key, &value)) {
        long code = PyLong_AsLong(key);
        if (code < 0 || code >= BMP) {
            PyErr_SetString(PyExc_ValueError, "table keys must be BMP code points");
            return NULL;
        }
        if (value == Py_None || (PyUnicode_Check(value) && PyUnicode_GET_LENGTH(value) == 0))
            folded[code] = DROPPED;
        else if (PyUnicode_Check(value) && PyUnicode_GET_LENGTH(value) == 1)
            folded[code] = PyUnicode_READ_CHAR(value, 0);
        else {
            PyErr_SetString(PyExc_ValueError, "table values must be one character or None");
            return NULL;
        }
    }
    memset(marks, 0, sizeof(marks));
    for (Py_ssize_t i = 0; i < PyUnicode_GET_LENGTH(mark_chars); i++) {
        Py_UCS4 ch = PyUnicode_READ_CHAR(mark_chars, i);
        if (ch < BMP)
            marks[ch] = 1;
    }
    for (Py_UCS4 ch = 0; ch < BMP; ch++) {
        classes[ch] = (unsigned char)class_of(ch, marks[ch]);
        Py_UCS4 mapped = folded[ch];
        if (mapped != DROPPED) {
            if (mapped == 0x130 || mapped == 0x3A3) /* İ lowers to two characters; Σ by context */
                classes[ch] |= PYTHON_LOWER;
            else
                folded[ch] = Py_UNICODE_TOLOWER(mapped);
        }
        info[ch] = (folded[ch] == DROPPED ? DROPPED_BIT : folded[ch])
                   | ((uint32_t)classes[ch] << CLASS_SHIFT);
    }
    configured = 1;
    Py_RETURN_NONE;
}

/* Class and folded form of any character, as `info` has them (beyond the BMP: asked of the
   database each time). */
static inline uint32_t
info_of(Py_UCS4 ch)
{
    if (ch < BMP)
        return info[ch];
    return Py_UNICODE_TOLOWER(ch) | ((uint32_t)class_of(ch, 0) << CLASS_SHIFT);
}

static PyObject *
make_word(const Py_UCS4 *buffer, Py_ssize_t length, Py_UCS4 widest, int python_lower)
{
    PyObject *word = PyUnicode_New(length, widest);
    if (word == NULL)
        return NULL;
    int kind = PyUnicode_KIND(word);
    void *data = PyUnicode_DATA(word);
    for (Py_ssize_t i = 0; i < length; i++)
        PyUnicode_WRITE(kind, data, i, buffer[i]);
    if (!python_lower)
        return word;
    PyObject *lowered = PyObject_CallMethod(word, "lower", NULL);
    Py_DECREF(word);
    return lowered;
}

/* Every distinct word read in this process, as one str object: an article's words are then
   mostly objects already made, whose hash Python has already computed (sets and dicts of
   words are what the rules run on). A slot is small and the word is compared with the object
   itself: an article from a new source meets these slots cold, one memory read each. Words
   that str.lower() changes by context (see PYTHON_LOWER) are made anew each time. */
typedef struct {
    Py_uhash_t hash;
    PyObject *word;   /* NULL: an empty slot */
    size_t last_read; /* the call of read_words that last met it (for `distinct`) */
} Slot;

#define MAX_WORDS 200000 /* then forgotten, as monitor.arabic's caches are */
static Slot *slots = NULL;
static Py_ssize_t capacity = 0, used = 0;
static size_t reading = 0; /* read_words calls so far */

static void
forget_words(void)
{
    for (Py_ssize_t i = 0; i < capacity; i++)
        Py_XDECREF(slots[i].word);
    PyMem_Free(slots);
    slots = NULL;
    capacity = used = 0;
}

#define FNV_START 1469598103934665603ULL /* FNV-1a, over the characters as read */
#define FNV_STEP(hash, ch) (((hash) ^ (ch)) * 1099511628211ULL)

static int
same_characters(PyObject *word, const Py_UCS4 *buffer, Py_ssize_t length)
{
    if (PyUnicode_GET_LENGTH(word) != length)
        return 0;
    int kind = PyUnicode_KIND(word);
    const void *data = PyUnicode_DATA(word);
    for (Py_ssize_t i = 0; i < length; i++) {
        if (PyUnicode_READ(kind, data, i) != buffer[i])
            return 0;
    }
    return 1;
}

static Slot *
find_slot(Slot *table, Py_ssize_t size, Py_uhash_t hash, const Py_UCS4 *buffer,
          Py_ssize_t length)
{
    Py_ssize_t mask = size - 1, at = (Py_ssize_t)(hash & (Py_uhash_t)mask);
    while (table[at].word != NULL) {
        Slot *slot = &table[at];
        if (slot->hash == hash && same_characters(slot->word, buffer, length))
            return slot;
        at = (at + 1) & mask;
    }
    return &table[at];
}

static int
grow(void)
{
    Py_ssize_t size = capacity ? capacity * 2 : 4096;
    Slot *table = PyMem_Calloc((size_t)size, sizeof(Slot));
    if (table == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < capacity; i++) {
        if (slots[i].word != NULL) {
            Py_ssize_t mask = size - 1, at = (Py_ssize_t)(slots[i].hash & (Py_uhash_t)mask);
            while (table[at].word != NULL)
                at = (at + 1) & mask;
            table[at] = slots[i];
        }
    }
    PyMem_Free(slots);
    slots = table;
    capacity = size;
    return 0;
}

/* The word read as buffer[0:length], whose FNV hash is `hash` (a new reference); *stamp: where
   it keeps the call that last met it, or NULL for a word not kept. */
static PyObject *
word_of(const Py_UCS4 *buffer, Py_ssize_t length, Py_uhash_t hash, int python_lower,
        size_t **stamp)
{
    Py_UCS4 widest = 0;
    *stamp = NULL;
    if (!python_lower) {
        if (used >= MAX_WORDS)
            forget_words();
        if ((used + 1) * 3 >= capacity * 2 && grow() < 0)
            return NULL;
        Slot *slot = find_slot(slots, capacity, hash, buffer, length);
        if (slot->word != NULL) {
            *stamp = &slot->last_read;
            Py_INCREF(slot->word);
            return slot->word;
        }
        for (Py_ssize_t i = 0; i < length; i++)
            widest = buffer[i] > widest ? buffer[i] : widest;
        PyObject *word = make_word(buffer, length, widest, 0);
        if (word == NULL)
            return NULL;
        slot->hash = hash;
        slot->word = word;
        slot->last_read = 0;
        used++;
        *stamp = &slot->last_read;
        Py_INCREF(word);
        return word;
    }
    for (Py_ssize_t i = 0; i < length; i++)
        widest = buffer[i] > widest ? buffer[i] : widest;
    return make_word(buffer, length, widest, 1);
}

static PyObject *
forget(PyObject *module, PyObject *unused)
{
    forget_words();
    Py_RETURN_NONE;
}

/* (first, second): Py_BuildValue parses its format at every call. */
static PyObject *
pair(Py_ssize_t first, Py_ssize_t second)
{
    PyObject *a = PyLong_FromSsize_t(first);
    PyObject *b = a == NULL ? NULL : PyLong_FromSsize_t(second);
    PyObject *result = b == NULL ? NULL : PyTuple_Pack(2, a, b);
    Py_XDECREF(a);
    Py_XDECREF(b);
    return result;
}

static PyObject *
read_words(PyObject *module, PyObject *arg)
{
    if (!configured) {
        PyErr_SetString(PyExc_RuntimeError, "monitor._words is not configured");
        return NULL;
    }
    if (!PyUnicode_Check(arg)) {
        PyErr_SetString(PyExc_TypeError, "text must be str");
        return NULL;
    }
    Py_ssize_t n = PyUnicode_GET_LENGTH(arg);
    int kind = PyUnicode_KIND(arg);
    const void *text = PyUnicode_DATA(arg);
    PyObject *words = PyList_New(0);
    PyObject *distinct = PyList_New(0);
    /* The word being read, and each word's start and end in the text: both grown as needed,
       so that a page of tens of megabytes costs memory in proportion to its words. */
    Py_ssize_t buffer_room = 256, offsets_room = 2 * 1024;
    Py_UCS4 *buffer = PyMem_New(Py_UCS4, buffer_room);
    int32_t *offsets = PyMem_New(int32_t, offsets_room);
    uint32_t *infos = PyMem_New(uint32_t, n > 0 ? n : 1); /* info of each character */
    Py_ssize_t word_count = 0;
    if (words == NULL || distinct == NULL || buffer == NULL || offsets == NULL || infos == NULL)
        goto error;
    if (kind == PyUnicode_1BYTE_KIND) { /* a tight loop a width: most of the work is here */
        for (Py_ssize_t k = 0; k < n; k++)
            infos[k] = info[((const Py_UCS1 *)text)[k]];
    }
    else if (kind == PyUnicode_2BYTE_KIND) {
        for (Py_ssize_t k = 0; k < n; k++)
            infos[k] = info[((const Py_UCS2 *)text)[k]];
    }
    else {
        for (Py_ssize_t k = 0; k < n; k++)
            infos[k] = info_of(((const Py_UCS4 *)text)[k]);
    }
    if (n > INT32_MAX) {
        PyErr_SetString(PyExc_ValueError, "text too long");
        goto error;
    }
    reading++;

    Py_ssize_t i = 0;
    while (i < n) {
        int class = (infos[i] >> CLASS_SHIFT) & 0x0F;
        if (class == SEPARATOR) {
            i++;
            continue;
        }
        /* A run of digits, or of letters and marks: one word, normalised as it is read. */
        int digits = class == DIGIT;
        Py_ssize_t word_start = i;
        uint32_t any_lower = 0;
        Py_ssize_t length = 0;
        Py_uhash_t hash = FNV_START;
        for (; i < n; i++) {
            uint32_t found = infos[i];
            int base = (found >> CLASS_SHIFT) & 0x0F;
            if (digits ? base != DIGIT : (base != LETTER && base != MARK))
                break;
            any_lower |= found;
            if (!(found & DROPPED_BIT)) {
                Py_UCS4 out = found & 0x1FFFFF;
                if (length == buffer_room) {
                    buffer_room *= 2;
                    Py_UCS4 *grown =
                        (Py_UCS4 *)PyMem_Realloc(buffer, (size_t)(buffer_room) * sizeof(Py_UCS4));
                    if (grown == NULL) {
                        PyErr_NoMemory();
                        goto error;
                    }
                    buffer = grown;
                }
                buffer[length++] = out;
                hash = FNV_STEP(hash, out);
            }
        }
        if (length == 0) /* marks only: no word */
            continue;
        int python_lower = (any_lower >> CLASS_SHIFT) & PYTHON_LOWER;
        if (2 * word_count + 2 > offsets_room) {
            offsets_room *= 2;
            int32_t *grown =
                (int32_t *)PyMem_Realloc(offsets, (size_t)(offsets_room) * sizeof(int32_t));
            if (grown == NULL) {
                PyErr_NoMemory();
                goto error;
            }
            offsets = grown;
        }
        offsets[2 * word_count] = (int32_t)word_start;
        offsets[2 * word_count + 1] = (int32_t)i;
        word_count++;
        size_t *stamp;
        PyObject *word = word_of(buffer, length, hash, python_lower, &stamp);
        if (word == NULL)
            goto error;
        int first_time; /* in this text */
        if (stamp != NULL) {
            first_time = *stamp != reading;
            *stamp = reading;
        }
        else
            first_time = !PySequence_Contains(distinct, word); /* -1: an error */
        int failed = PyList_Append(words, word) < 0 || first_time < 0
                     || (first_time && PyList_Append(distinct, word) < 0);
        Py_DECREF(word);
        if (failed)
            goto error;
    }
    PyMem_Free(buffer);
    PyMem_Free(infos);
    PyObject *spans = PyBytes_FromStringAndSize((const char *)offsets,
                                                (Py_ssize_t)(2 * word_count * sizeof(int32_t)));
    PyMem_Free(offsets);
    if (spans == NULL) {
        Py_DECREF(words);
        Py_DECREF(distinct);
        return NULL;
    }
    return Py_BuildValue("(NNN)", words, distinct, spans);

error:
    PyMem_Free(buffer);
    PyMem_Free(offsets);
    PyMem_Free(infos);
    Py_XDECREF(words);
    Py_XDECREF(distinct);
    return NULL;
}

/* monitor.matching's per-article index: for each place in `words` whose word is in `useful`,
   the place is added to `where[rule_word]` for each rule word it reads as (`readings[word]`,
   a tuple). The lists come out sorted, as the places are visited in order. */
static PyObject *
fill_positions(PyObject *module, PyObject *args)
{
    PyObject *where, *words, *useful, *readings;
    if (!PyArg_ParseTuple(args, "O!O!OO!", &PyDict_Type, &where, &PyList_Type, &words, &useful,
                          &PyDict_Type, &readings))
        return NULL;
    if (!PyAnySet_Check(useful)) {
        PyErr_SetString(PyExc_TypeError, "useful must be a set");
        return NULL;
    }
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(words); i++) {
        PyObject *word = PyList_GET_ITEM(words, i);
        int present = PySet_Contains(useful, word);
        if (present < 0)
            return NULL;
        if (!present)
            continue;
        PyObject *read_as = PyDict_GetItemWithError(readings, word); /* borrowed */
        if (read_as == NULL) {
            if (!PyErr_Occurred())
                PyErr_SetObject(PyExc_KeyError, word);
            return NULL;
        }
        if (!PyTuple_Check(read_as)) {
            PyErr_SetString(PyExc_TypeError, "readings must be tuples");
            return NULL;
        }
        PyObject *at = PyLong_FromSsize_t(i);
        if (at == NULL)
            return NULL;
        for (Py_ssize_t k = 0; k < PyTuple_GET_SIZE(read_as); k++) {
            PyObject *rule_word = PyTuple_GET_ITEM(read_as, k);
            PyObject *places = PyDict_GetItemWithError(where, rule_word); /* borrowed */
            int failed;
            if (places != NULL)
                failed = PyList_Append(places, at) < 0;
            else if (PyErr_Occurred())
                failed = 1;
            else {
                places = PyList_New(1);
                failed = places == NULL;
                if (!failed) {
                    Py_INCREF(at);
                    PyList_SET_ITEM(places, 0, at);
                    failed = PyDict_SetItem(where, rule_word, places) < 0;
                    Py_DECREF(places);
                }
            }
            if (failed) {
                Py_DECREF(at);
                return NULL;
            }
        }
        Py_DECREF(at);
    }
    Py_RETURN_NONE;
}

/* A set of strings as the hashes of their characters (FNV-1a), to test cheaply whether a word
   is one of them or begins with one: monitor.matching's forms of rule words, and beginnings of
   words with a head. A hash two strings share only lets a word through to the exact test that
   follows in Python. A small bit filter in front answers most refusals from the CPU's nearest
   cache, where the table (tens of kilobytes) would cost a memory read a probe. */
#define FILTER_BITS (1 << 16)
#define NAME "monitor._words.StringSet"

typedef struct {
    Py_ssize_t mask;
    Py_ssize_t longest;
    Py_uhash_t *table; /* 0: empty */
    unsigned char filter[FILTER_BITS / 8];
} StringSet;

static inline Py_ssize_t
filter_bit(Py_uhash_t hash)
{
    return (Py_ssize_t)(hash >> 48) & (FILTER_BITS - 1);
}

static void
free_string_set(PyObject *capsule)
{
    StringSet *set = PyCapsule_GetPointer(capsule, NAME);
    if (set != NULL) {
        PyMem_Free(set->table);
        PyMem_Free(set);
    }
}

static int
hash_in(const StringSet *set, Py_uhash_t hash)
{
    Py_ssize_t bit = filter_bit(hash);
    if (!(set->filter[bit >> 3] & (1 << (bit & 7))))
        return 0;
    for (Py_ssize_t at = (Py_ssize_t)(hash & (Py_uhash_t)set->mask); set->table[at];
         at = (at + 1) & set->mask) {
        if (set->table[at] == hash)
            return 1;
    }
    return 0;
}

static Py_uhash_t
hash_of(PyObject *string, Py_ssize_t length)
{
    int kind = PyUnicode_KIND(string);
    const void *data = PyUnicode_DATA(string);
    Py_uhash_t hash = FNV_START;
    for (Py_ssize_t k = 0; k < length; k++)
        hash = FNV_STEP(hash, PyUnicode_READ(kind, data, k));
    return hash | 1;
}

static PyObject *
string_set(PyObject *module, PyObject *strings)
{
    PyObject *sequence = PySequence_Fast(strings, "string_set: a sequence of str");
    if (sequence == NULL)
        return NULL;
    Py_ssize_t count = PySequence_Fast_GET_SIZE(sequence), size = 16;
    while (size < count * 3)
        size *= 2;
    StringSet *set = PyMem_Calloc(1, sizeof(StringSet));
    Py_uhash_t *table = PyMem_Calloc((size_t)size, sizeof(Py_uhash_t));
    if (set == NULL || table == NULL) {
        PyMem_Free(set);
        PyMem_Free(table);
        Py_DECREF(sequence);
        return PyErr_NoMemory();
    }
    set->mask = size - 1;
    set->table = table;
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *string = PySequence_Fast_GET_ITEM(sequence, i);
        if (!PyUnicode_Check(string)) {
            PyErr_SetString(PyExc_TypeError, "string_set: a sequence of str");
            Py_DECREF(sequence);
            PyMem_Free(table);
            PyMem_Free(set);
            return NULL;
        }
        Py_ssize_t length = PyUnicode_GET_LENGTH(string);
        Py_uhash_t hash = hash_of(string, length);
        if (length > set->longest)
            set->longest = length;
        if (hash_in(set, hash))
            continue;
        Py_ssize_t at = (Py_ssize_t)(hash & (Py_uhash_t)set->mask), bit = filter_bit(hash);
        while (table[at])
            at = (at + 1) & set->mask;
        table[at] = hash;
        set->filter[bit >> 3] |= (unsigned char)(1 << (bit & 7));
    }
    Py_DECREF(sequence);
    PyObject *capsule = PyCapsule_New(set, NAME, free_string_set);
    if (capsule == NULL) {
        PyMem_Free(table);
        PyMem_Free(set);
    }
    return capsule;
}

/* The words of `words` (any iterable of str) in the string set, or (`beginning`) beginning
   with one of its strings; perhaps a few others (see StringSet). */
static PyObject *
select_words(PyObject *args, int beginning)
{
    PyObject *words, *capsule;
    if (!PyArg_ParseTuple(args, "OO", &words, &capsule))
        return NULL;
    StringSet *set = PyCapsule_GetPointer(capsule, NAME);
    if (set == NULL)
        return NULL;
    PyObject *iterator = PyObject_GetIter(words);
    PyObject *found = PyList_New(0);
    if (iterator == NULL || found == NULL)
        goto error;
    PyObject *word;
    while ((word = PyIter_Next(iterator)) != NULL) {
        if (!PyUnicode_Check(word)) {
            Py_DECREF(word);
            PyErr_SetString(PyExc_TypeError, "words must be str");
            goto error;
        }
        Py_ssize_t length = PyUnicode_GET_LENGTH(word);
        int selected = 0;
        if (!beginning)
            selected = length <= set->longest && hash_in(set, hash_of(word, length));
        else {
            int kind = PyUnicode_KIND(word);
            const void *data = PyUnicode_DATA(word);
            Py_uhash_t hash = FNV_START;
            for (Py_ssize_t k = 0; k < length && k < set->longest && !selected; k++) {
                hash = FNV_STEP(hash, PyUnicode_READ(kind, data, k));
                selected = hash_in(set, hash | 1);
            }
        }
        int failed = selected && PyList_Append(found, word) < 0;
        Py_DECREF(word);
        if (failed)
            goto error;
    }
    if (PyErr_Occurred())
        goto error;
    Py_DECREF(iterator);
    return found;

error:
    Py_XDECREF(iterator);
    Py_XDECREF(found);
    return NULL;
}

static PyObject *
words_in(PyObject *module, PyObject *args)
{
    return select_words(args, 0);
}

static PyObject *
words_beginning(PyObject *module, PyObject *args)
{
    return select_words(args, 1);
}

/* --- spans of positional clauses (monitor.matching's finders) ------------------------------
   Positions are word indexes; a span is (first, last). Inputs are sorted as the finders keep
   them; outputs are sorted, without repeats. */

typedef struct {
    Py_ssize_t start, end;
} Span;

static int
compare_spans(const void *a, const void *b)
{
    const Span *x = a, *y = b;
    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    return (x->end > y->end) - (x->end < y->end);
}

/* The ints of a sequence, appended to *array (grown as needed). */
static int
read_ints(PyObject *sequence, Py_ssize_t **array, Py_ssize_t *count, Py_ssize_t *room)
{
    PyObject *fast = PySequence_Fast(sequence, "positions must be a sequence");
    if (fast == NULL)
        return -1;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(fast);
    if (*count + n > *room) {
        Py_ssize_t room_now = (*count + n) * 2;
        Py_ssize_t *grown =
            (Py_ssize_t *)PyMem_Realloc(*array, (size_t)(room_now) * sizeof(Py_ssize_t));
        if (grown == NULL) {
            Py_DECREF(fast);
            PyErr_NoMemory();
            return -1;
        }
        *array = grown;
        *room = room_now;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_ssize_t value = PyLong_AsSsize_t(PySequence_Fast_GET_ITEM(fast, i));
        if (value == -1 && PyErr_Occurred()) {
            Py_DECREF(fast);
            return -1;
        }
        (*array)[(*count)++] = value;
    }
    Py_DECREF(fast);
    return 0;
}

/* The spans of a list of (start, end) tuples. */
static Span *
read_spans(PyObject *list, Py_ssize_t *count)
{
    PyObject *fast = PySequence_Fast(list, "spans must be a sequence");
    if (fast == NULL)
        return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(fast);
    Span *spans = PyMem_New(Span, n > 0 ? n : 1);
    if (spans == NULL) {
        Py_DECREF(fast);
        PyErr_NoMemory();
        return NULL;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *item = PySequence_Fast_GET_ITEM(fast, i);
        if (!PyTuple_Check(item) || PyTuple_GET_SIZE(item) != 2) {
            PyErr_SetString(PyExc_TypeError, "a span is a (start, end) tuple");
            goto error;
        }
        spans[i].start = PyLong_AsSsize_t(PyTuple_GET_ITEM(item, 0));
        spans[i].end = PyLong_AsSsize_t(PyTuple_GET_ITEM(item, 1));
        if ((spans[i].start == -1 || spans[i].end == -1) && PyErr_Occurred())
            goto error;
    }
    Py_DECREF(fast);
    *count = n;
    return spans;

error:
    Py_DECREF(fast);
    PyMem_Free(spans);
    return NULL;
}

/* A list of (start, end) tuples from sorted spans, repeats left out. */
static PyObject *
span_list(Span *spans, Py_ssize_t count)
{
    PyObject *list = PyList_New(0);
    if (list == NULL)
        return NULL;
    for (Py_ssize_t i = 0; i < count; i++) {
        if (i && spans[i].start == spans[i - 1].start && spans[i].end == spans[i - 1].end)
            continue;
        PyObject *span;
        if (spans[i].start == spans[i].end) { /* one word: one int object, twice */
            PyObject *at = PyLong_FromSsize_t(spans[i].start);
            span = at == NULL ? NULL : PyTuple_Pack(2, at, at);
            Py_XDECREF(at);
        }
        else
            span = pair(spans[i].start, spans[i].end);
        if (span == NULL || PyList_Append(list, span) < 0) {
            Py_XDECREF(span);
            Py_DECREF(list);
            return NULL;
        }
        Py_DECREF(span);
    }
    return list;
}

/* points(lists): the positions of any of the sorted lists, as one-word spans (at, at). */
static PyObject *
points(PyObject *module, PyObject *lists)
{
    PyObject *fast = PySequence_Fast(lists, "points: a sequence of position lists");
    if (fast == NULL)
        return NULL;
    Py_ssize_t *ats = NULL, count = 0, room = 0;
    for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(fast); i++) {
        if (read_ints(PySequence_Fast_GET_ITEM(fast, i), &ats, &count, &room) < 0) {
            Py_DECREF(fast);
            PyMem_Free(ats);
            return NULL;
        }
    }
    int several = PySequence_Fast_GET_SIZE(fast) > 1;
    Py_DECREF(fast);
    Span *spans = PyMem_New(Span, count > 0 ? count : 1);
    if (spans == NULL) {
        PyMem_Free(ats);
        return PyErr_NoMemory();
    }
    for (Py_ssize_t i = 0; i < count; i++)
        spans[i].start = spans[i].end = ats[i];
    PyMem_Free(ats);
    if (several)
        qsort(spans, (size_t)count, sizeof(Span), compare_spans);
    PyObject *result = span_list(spans, count);
    PyMem_Free(spans);
    return result;
}

/* phrase_spans(starts, following, last): the starts s (sorted) with s + k in following[k - 1]
   (sorted) for every k, as spans (s, s + last). */
static PyObject *
phrase_spans(PyObject *module, PyObject *args)
{
    PyObject *starts_list, *following;
    Py_ssize_t last;
    if (!PyArg_ParseTuple(args, "OO!n", &starts_list, &PyList_Type, &following, &last))
        return NULL;
    Py_ssize_t *starts = NULL, count = 0, room = 0, *after = NULL, after_count, after_room = 0;
    if (read_ints(starts_list, &starts, &count, &room) < 0)
        goto error;
    for (Py_ssize_t k = 0; k < PyList_GET_SIZE(following) && count; k++) {
        after_count = 0;
        if (read_ints(PyList_GET_ITEM(following, k), &after, &after_count, &after_room) < 0)
            goto error;
        Py_ssize_t kept = 0, j = 0;
        for (Py_ssize_t i = 0; i < count; i++) { /* both sorted: one merge */
            Py_ssize_t wanted = starts[i] + k + 1;
            while (j < after_count && after[j] < wanted)
                j++;
            if (j < after_count && after[j] == wanted)
                starts[kept++] = starts[i];
        }
        count = kept;
    }
    Span *spans = PyMem_New(Span, count > 0 ? count : 1);
    if (spans == NULL) {
        PyErr_NoMemory();
        goto error;
    }
    for (Py_ssize_t i = 0; i < count; i++) {
        spans[i].start = starts[i];
        spans[i].end = starts[i] + last;
    }
    PyMem_Free(starts);
    PyMem_Free(after);
    PyObject *result = span_list(spans, count);
    PyMem_Free(spans);
    return result;

error:
    PyMem_Free(starts);
    PyMem_Free(after);
    return NULL;
}

/* near_spans(left, right, n): (min start, max end) of each left and right span (right sorted
   by start) with 1 to n words between them; spans that overlap are one place, not two near
   each other. */
static PyObject *
near_spans(PyObject *module, PyObject *args)
{
    PyObject *left_list, *right_list;
    Py_ssize_t n, left_count = 0, right_count = 0, found_count = 0, found_room = 16;
    if (!PyArg_ParseTuple(args, "OOn", &left_list, &right_list, &n))
        return NULL;
    Span *left = read_spans(left_list, &left_count);
    Span *right = left == NULL ? NULL : read_spans(right_list, &right_count);
    Span *found = PyMem_New(Span, found_room);
    PyObject *result = NULL;
    if (left == NULL || right == NULL || found == NULL)
        goto done;
    Py_ssize_t widest = 0;
    for (Py_ssize_t j = 0; j < right_count; j++)
        widest = right[j].end - right[j].start > widest ? right[j].end - right[j].start : widest;
    for (Py_ssize_t i = 0; i < left_count; i++) {
        Span a = left[i];
        Py_ssize_t lowest = a.start - n - widest, lo = 0, hi = right_count;
        while (lo < hi) { /* the first right span starting at lowest or after */
            Py_ssize_t mid = (lo + hi) / 2;
            if (right[mid].start < lowest)
                lo = mid + 1;
            else
                hi = mid;
        }
        for (Py_ssize_t j = lo; j < right_count && right[j].start <= a.end + n; j++) {
            Span b = right[j];
            Py_ssize_t gap = b.start > a.end ? b.start - a.end : a.start - b.end;
            if (gap < 1 || gap > n)
                continue;
            if (found_count == found_room) {
                found_room *= 2;
                Span *grown =
                    (Span *)PyMem_Realloc(found, (size_t)(found_room) * sizeof(Span));
                if (grown == NULL) {
                    PyErr_NoMemory();
                    goto done;
                }
                found = grown;
            }
            found[found_count].start = a.start < b.start ? a.start : b.start;
            found[found_count].end = a.end > b.end ? a.end : b.end;
            found_count++;
        }
    }
    qsort(found, (size_t)found_count, sizeof(Span), compare_spans);
    result = span_list(found, found_count);

done:
    PyMem_Free(left);
    PyMem_Free(right);
    PyMem_Free(found);
    return result;
}

/* merge_spans(lists): every span of the lists, sorted, repeats left out. */
static PyObject *
merge_spans(PyObject *module, PyObject *lists)
{
    PyObject *fast = PySequence_Fast(lists, "merge_spans: a sequence of span lists");
    if (fast == NULL)
        return NULL;
    Py_ssize_t total = 0, count = 0;
    for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(fast); i++) {
        Py_ssize_t size = PyObject_Length(PySequence_Fast_GET_ITEM(fast, i));
        if (size < 0) {
            Py_DECREF(fast);
            return NULL;
        }
        total += size;
    }
    Span *spans = PyMem_New(Span, total > 0 ? total : 1);
    if (spans == NULL) {
        Py_DECREF(fast);
        return PyErr_NoMemory();
    }
    for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(fast); i++) {
        Py_ssize_t part_count;
        Span *part = read_spans(PySequence_Fast_GET_ITEM(fast, i), &part_count);
        if (part == NULL) {
            Py_DECREF(fast);
            PyMem_Free(spans);
            return NULL;
        }
        memcpy(spans + count, part, (size_t)part_count * sizeof(Span));
        count += part_count;
        PyMem_Free(part);
    }
    Py_DECREF(fast);
    qsort(spans, (size_t)count, sizeof(Span), compare_spans);
    PyObject *result = span_list(spans, count);
    PyMem_Free(spans);
    return result;
}

/* monitor.matching.Lexicon: the words of `distinct` not in `learnt` (a list), and those in
   `useful` (a set), in one pass. */
static PyObject *
split_known(PyObject *module, PyObject *args)
{
    PyObject *distinct, *learnt, *useful;
    if (!PyArg_ParseTuple(args, "O!O!O!", &PyList_Type, &distinct, &PySet_Type, &learnt,
                          &PySet_Type, &useful))
        return NULL;
    PyObject *new = PyList_New(0), *found = PySet_New(NULL);
    if (new == NULL || found == NULL)
        goto error;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(distinct); i++) {
        PyObject *word = PyList_GET_ITEM(distinct, i);
        int known = PySet_Contains(learnt, word), wanted = 0;
        if (known < 0)
            goto error;
        if (!known) {
            if (PyList_Append(new, word) < 0)
                goto error;
            continue;
        }
        wanted = PySet_Contains(useful, word);
        if (wanted < 0 || (wanted && PySet_Add(found, word) < 0))
            goto error;
    }
    return Py_BuildValue("(NN)", new, found);

error:
    Py_XDECREF(new);
    Py_XDECREF(found);
    return NULL;
}

/* The union of readings[word] (tuples) over `words`. */
static PyObject *
readings_union(PyObject *module, PyObject *args)
{
    PyObject *readings, *words;
    if (!PyArg_ParseTuple(args, "O!O", &PyDict_Type, &readings, &words))
        return NULL;
    PyObject *found = PySet_New(NULL), *iterator = PyObject_GetIter(words), *word;
    if (found == NULL || iterator == NULL)
        goto error;
    while ((word = PyIter_Next(iterator)) != NULL) {
        PyObject *read_as = PyDict_GetItemWithError(readings, word); /* borrowed */
        Py_DECREF(word);
        if (read_as == NULL || !PyTuple_Check(read_as)) {
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_KeyError, "a word without readings");
            goto error;
        }
        for (Py_ssize_t k = 0; k < PyTuple_GET_SIZE(read_as); k++) {
            if (PySet_Add(found, PyTuple_GET_ITEM(read_as, k)) < 0)
                goto error;
        }
    }
    if (PyErr_Occurred())
        goto error;
    Py_DECREF(iterator);
    return found;

error:
    Py_XDECREF(iterator);
    Py_XDECREF(found);
    return NULL;
}

/* Whether str.split() parts words at `ch`, the Unicode database asked only above U+1680. */
static inline int
is_space(Py_UCS4 ch)
{
    if (ch < 128)
        return ch == ' ' || (ch >= 9 && ch <= 13) || (ch >= 28 && ch <= 31);
    if (ch < 0x1680)
        return ch == 0x85 || ch == 0xA0;
    return Py_UNICODE_ISSPACE(ch);
}

/* even_spaces(text): " ".join(text.split()), the text itself when that is what it is: a
   snippet shows any run of whitespace as one space. */
static PyObject *
even_spaces(PyObject *module, PyObject *text)
{
    if (!PyUnicode_Check(text)) {
        PyErr_SetString(PyExc_TypeError, "text must be str");
        return NULL;
    }
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    Py_ssize_t n = PyUnicode_GET_LENGTH(text), length = 0;
    Py_UCS4 *buffer = PyMem_New(Py_UCS4, n > 0 ? n : 1);
    if (buffer == NULL)
        return PyErr_NoMemory();
    int changed = 0, pending = 0; /* pending: whitespace seen since the last word character */
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_UCS4 ch = PyUnicode_READ(kind, data, i);
        if (is_space(ch)) {
            changed |= ch != ' ' || pending || length == 0;
            pending = 1;
            continue;
        }
        if (pending && length > 0)
            buffer[length++] = ' ';
        pending = 0;
        buffer[length++] = ch;
    }
    changed |= pending;
    PyObject *result;
    if (changed)
        result = PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, buffer, length);
    else {
        Py_INCREF(text);
        result = text;
    }
    PyMem_Free(buffer);
    return result;
}

static PyMethodDef methods[] = {
    {"configure", configure, METH_VARARGS,
     "configure(table, marks): the normalisation table and the marks that stay in a word."},
    {"forget", forget, METH_NOARGS,
     "forget(): drop every word read so far (a new process, for benchmarks)."},
    {"fill_positions", fill_positions, METH_VARARGS,
     "fill_positions(where, words, useful, readings): where[rule word] = its places in words."},
    {"string_set", string_set, METH_O,
     "string_set(strings) -> a set for words_in and words_beginning."},
    {"words_in", words_in, METH_VARARGS,
     "words_in(words, string_set) -> [word]: those in the set (and perhaps a few others)."},
    {"words_beginning", words_beginning, METH_VARARGS,
     "words_beginning(words, string_set) -> [word]: those that begin with one of its strings "
     "(and perhaps a few others)."},
    {"split_known", split_known, METH_VARARGS,
     "split_known(distinct, learnt, useful) -> (new, found): words not learnt, words useful."},
    {"readings_union", readings_union, METH_VARARGS,
     "readings_union(readings, words) -> set: every rule word the words read as."},
    {"even_spaces", even_spaces, METH_O,
     "even_spaces(text) -> \" \".join(text.split()), the text itself when it is that already."},
    {"points", points, METH_O,
     "points(lists) -> [(at, at)]: the positions of any of the sorted lists."},
    {"phrase_spans", phrase_spans, METH_VARARGS,
     "phrase_spans(starts, following, last) -> [(s, s + last)]: where a phrase's words follow."},
    {"near_spans", near_spans, METH_VARARGS,
     "near_spans(left, right, n) -> [(start, end)]: left and right spans 1 to n words apart."},
    {"merge_spans", merge_spans, METH_O,
     "merge_spans(lists) -> [(start, end)]: every span of the lists, sorted, no repeats."},
    {"read_words", read_words, METH_O,
     "read_words(text) -> (words, distinct, spans): the normalised words, each word once, and "
     "each word's start and end in the text (native int32 pairs)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "monitor._words",
    "The words of a text in one pass (see monitor.arabic.Words).", -1, methods,
};

PyMODINIT_FUNC
PyInit__words(void)
{
    return PyModule_Create(&module);
}
