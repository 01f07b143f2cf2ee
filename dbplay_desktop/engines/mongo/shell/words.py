"""Words the editor completes in a mongosh playground: methods, literals and operators.

Built from the allow-list where it can be, so completion never offers a method the
parser refuses; the operator lists are MongoDB's query, update and aggregation words.
"""

from __future__ import annotations

from functools import lru_cache

from dbplay_desktop.engines.mongo.shell import allow
from dbplay_desktop.engines.mongo.shell.constructors import CONSTRUCTORS

_SHELL = ("db", "show", "collections", "dbs", "databases", "getCollection", "true", "false",
          "null", "undefined", "new", "Infinity", "NaN")

_QUERY = (
    "$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin", "$and", "$or", "$nor", "$not",
    "$exists", "$type", "$expr", "$jsonSchema", "$mod", "$regex", "$options", "$text",
    "$search", "$language", "$caseSensitive", "$diacriticSensitive", "$all", "$elemMatch",
    "$size", "$bitsAllClear", "$bitsAllSet", "$bitsAnyClear", "$bitsAnySet", "$geoIntersects",
    "$geoWithin", "$near", "$nearSphere", "$box", "$center", "$centerSphere", "$geometry",
    "$maxDistance", "$minDistance", "$polygon", "$comment", "$meta", "$slice", "$natural",
)

_UPDATE = (
    "$set", "$unset", "$inc", "$mul", "$rename", "$setOnInsert", "$min", "$max",
    "$currentDate", "$addToSet", "$pop", "$pull", "$push", "$pullAll", "$each", "$position",
    "$sort", "$bit", "$timestamp", "$date",
)

_STAGES = (
    "$addFields", "$bucket", "$bucketAuto", "$collStats", "$count", "$densify", "$documents",
    "$facet", "$fill", "$geoNear", "$graphLookup", "$group", "$indexStats", "$limit",
    "$lookup", "$match", "$merge", "$out", "$project", "$redact", "$replaceRoot",
    "$replaceWith", "$sample", "$search", "$set", "$setWindowFields", "$skip", "$sort",
    "$sortByCount", "$unionWith", "$unset", "$unwind",
)

_EXPRESSIONS = (
    # arithmetic
    "$abs", "$add", "$ceil", "$divide", "$exp", "$floor", "$ln", "$log", "$log10", "$mod",
    "$multiply", "$pow", "$round", "$sqrt", "$subtract", "$trunc",
    # arrays
    "$arrayElemAt", "$arrayToObject", "$concatArrays", "$filter", "$first", "$firstN",
    "$in", "$indexOfArray", "$isArray", "$last", "$lastN", "$map", "$maxN", "$minN",
    "$objectToArray", "$range", "$reduce", "$reverseArray", "$size", "$slice", "$sortArray",
    "$zip",
    # boolean, comparison, conditional
    "$and", "$not", "$or", "$cmp", "$eq", "$gt", "$gte", "$lt", "$lte", "$ne", "$cond",
    "$ifNull", "$switch", "$case", "$then", "$default",
    # dates
    "$dateAdd", "$dateDiff", "$dateFromParts", "$dateFromString", "$dateSubtract",
    "$dateToParts", "$dateToString", "$dateTrunc", "$dayOfMonth", "$dayOfWeek", "$dayOfYear",
    "$hour", "$isoDayOfWeek", "$isoWeek", "$isoWeekYear", "$millisecond", "$minute",
    "$month", "$second", "$week", "$year", "$toDate",
    # objects, literals, variables
    "$getField", "$setField", "$unsetField", "$mergeObjects", "$literal", "$let", "$rand",
    # sets
    "$allElementsTrue", "$anyElementTrue", "$setDifference", "$setEquals",
    "$setIntersection", "$setIsSubset", "$setUnion",
    # strings
    "$concat", "$indexOfBytes", "$indexOfCP", "$ltrim", "$regexFind", "$regexFindAll",
    "$regexMatch", "$replaceOne", "$replaceAll", "$rtrim", "$split", "$strLenBytes",
    "$strLenCP", "$strcasecmp", "$substr", "$substrBytes", "$substrCP", "$toLower",
    "$toString", "$trim", "$toUpper",
    # types
    "$convert", "$isNumber", "$toBool", "$toDecimal", "$toDouble", "$toInt", "$toLong",
    "$toObjectId", "$type",
    # accumulators and window operators
    "$avg", "$bottom", "$bottomN", "$count", "$max", "$min",
    "$push", "$addToSet", "$stdDevPop", "$stdDevSamp", "$sum", "$top", "$topN", "$median",
    "$percentile", "$covariancePop", "$covarianceSamp", "$denseRank", "$derivative",
    "$documentNumber", "$expMovingAvg", "$integral", "$linearFill", "$locf", "$rank",
    "$shift",
)


def shell_keywords() -> list[str]:
    """Every completion word once, in a stable order (methods first, then operators)."""
    return list(_keywords())


@lru_cache(maxsize=1)
def _keywords() -> tuple[str, ...]:
    words: list[str] = []
    for group in (tuple(allow.COLLECTION_METHODS), tuple(allow.DATABASE_METHODS),
                  tuple(allow.CURSOR), _SHELL, CONSTRUCTORS, ("Date", "ISODate"), _QUERY,
                  _UPDATE, _STAGES, _EXPRESSIONS):
        words.extend(group)
    return tuple(dict.fromkeys(words))
